"""Work orders tied to the location tree and the equipment register: a place of the tree with a
free-text detail beside it, a device whose place a report takes, and the list filtered by any level
of the tree (a building includes its floors and rooms)."""
from datetime import datetime, timezone

import pytest

from engine.people.users import department_named
from engine.places import locations
from engine.storage.models import Asset
from page_support import visitor


@pytest.fixture
def hospital(api, session):
    api.user("nurse", "requester", department="心内科")
    api.user("desk", "dispatcher", department="后勤保障部")
    campus = locations.add(session, code="HQ", name="本部", kind="campus")
    ward = locations.add(session, code="ZY", name="住院楼", kind="building", parent=campus)
    fifth = locations.add(session, code="ZY-5F", name="5F", kind="floor", parent=ward)
    room = locations.add(session, code="ZY-5F-512", name="512病房", kind="room", parent=fifth)
    clinic = locations.add(session, code="MZ", name="门诊楼", kind="building", parent=campus)
    lift = Asset(asset_no="EL-001", name="1号电梯", asset_class="elevator", location_id=ward.id,
                 created_at=datetime(2026, 1, 5, tzinfo=timezone.utc))
    session.add(lift)
    session.commit()
    return {"campus": campus.id, "ward": ward.id, "room": room.id, "clinic": clinic.id, "lift": lift.id}


def test_a_report_names_a_place_of_the_tree_and_a_detail_beside_it(api, hospital):
    order = api.new_order("nurse", location_id=hospital["room"], location="靠窗第二张床")
    assert order["location_id"] == hospital["room"] and order["location"] == "靠窗第二张床"
    assert order["place"] == "本部 / 住院楼 / 5F / 512病房"


def test_a_report_about_a_device_is_at_the_devices_place(api, hospital):
    order = api.new_order("nurse", asset_id=hospital["lift"])
    assert order["asset_id"] == hospital["lift"] and order["asset"] == "EL-001 1号电梯"
    assert order["location_id"] == hospital["ward"] and order["place"] == "本部 / 住院楼"


def test_an_unknown_place_or_device_is_refused_and_nothing_is_filed(api, hospital):
    for body in ({"location_id": 9999}, {"asset_id": 9999}):
        response = api.as_("nurse").post("/api/v1/workorders", json={
            "process": "repair", "title": "漏水", "fields": {"category": "plumbing"}, **body})
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] in body
    assert api.as_("desk").get("/api/v1/workorders").json()["total"] == 0


def test_the_list_filtered_by_a_building_includes_its_rooms_and_not_another_building(api, hospital):
    in_room = api.new_order("nurse", location_id=hospital["room"])["id"]
    in_clinic = api.new_order("nurse", location_id=hospital["clinic"])["id"]
    free_text = api.new_order("nurse", location="住院楼5F 512")["id"]  # as before the tree: still filed

    def ids(**query):
        return {o["id"] for o in api.as_("desk").get("/api/v1/workorders", params=query).json()["items"]}

    assert ids(location_id=hospital["ward"]) == {in_room}
    assert ids(location_id=hospital["campus"]) == {in_room, in_clinic}
    assert ids(location_id=hospital["room"]) == {in_room}
    assert free_text in ids()


def test_a_dispatcher_moves_an_order_to_a_place_of_the_tree(api, hospital):
    order = api.new_order("nurse", location="住院楼5F 512")
    moved = api.as_("desk").patch(f"/api/v1/workorders/{order['id']}", json={"location_id": hospital["room"]})
    assert moved.status_code == 200, moved.text
    assert moved.json()["place"] == "本部 / 住院楼 / 5F / 512病房"
    assert moved.json()["history"][-1]["data"]["location_id"] == {"from": None, "to": hospital["room"]}


def test_the_cockpit_filters_by_a_place_of_the_tree_and_counts_one_place_once(api, hospital):
    api.user("chief", "supervisor", department="后勤保障部")
    for detail in ("靠窗第二张床", "门口", ""):  # one room, said three ways
        api.new_order("nurse", location_id=hospital["room"], location=detail)
    api.new_order("nurse", location_id=hospital["clinic"])
    api.new_order("nurse", location="住院楼5F 512")  # free text only, as before the tree

    def figures(**query):
        return api.as_("chief").get("/api/v1/dashboard", params=query).json()

    everything, ward = figures(), figures(location_id=hospital["ward"])
    assert everything["total"] == 5 and ward["total"] == 3
    assert figures(location_id=hospital["campus"])["total"] == 4
    assert {row["location"]: row["count"] for row in everything["top_locations"]} == {
        "本部 / 住院楼 / 5F / 512病房": 3, "本部 / 门诊楼": 1, "住院楼5F 512": 1}


def test_the_cockpit_page_narrows_to_a_building(app, api, hospital):
    api.user("chief", "supervisor", department="后勤保障部")
    api.new_order("nurse", location_id=hospital["room"])
    api.new_order("nurse", location_id=hospital["clinic"])
    chief = visitor(app, "chief")
    page = chief.get("/cockpit", params={"place": "ZY"})
    assert page.status_code == 200
    assert '<option value="ZY" selected>本部 / 住院楼</option>' in page.text
    everywhere = chief.get("/cockpit").text
    # The clinic building is a choice of the place filter on both pages, and in the charts only on the first.
    assert page.text.count("本部 / 门诊楼") == 1 and everywhere.count("本部 / 门诊楼") > 1
    assert "本部 / 住院楼 / 5F / 512病房" in page.text
    assert chief.get("/cockpit", params={"place": "nowhere"}).status_code == 200  # an unknown place: no filter


def test_the_work_order_links_its_device_only_for_those_who_may_open_its_file(app, api, hospital, session):
    lift = session.get(Asset, hospital["lift"])
    lift.department_id = department_named(session, "后勤保障部", create=True).id  # kept by logistics, not the ward
    session.add(lift)
    session.commit()
    order = api.new_order("nurse", asset_id=hospital["lift"])
    nurse, desk = visitor(app, "nurse"), visitor(app, "desk")
    assert "EL-001 1号电梯" in nurse.get(f"/orders/{order['id']}").text
    assert f'href="/assets/{hospital["lift"]}"' not in nurse.get(f"/orders/{order['id']}").text
    assert nurse.get(f"/assets/{hospital['lift']}").status_code == 404  # where the link would have led her
    assert f'href="/assets/{hospital["lift"]}"' in desk.get(f"/orders/{order['id']}").text
