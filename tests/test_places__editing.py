"""Keeping the register and the tree up to date: a device moved, handed over or retired; its status
following its repairs; a place renamed, moved or closed, the change carried down its subtree."""
from datetime import datetime, timezone

import pytest

from engine.places import labels, locations
from engine.storage.models import Asset
from page_support import text_of, visitor


@pytest.fixture
def hospital(api, session):
    api.user("nurse", "requester", department="心内科")
    api.user("desk", "dispatcher", department="后勤保障部")
    api.user("tech", "technician", department="后勤保障部")
    api.user("keeper", "logistics", department="后勤保障部")
    api.user("boss", "admin", department="后勤保障部")
    campus = locations.add(session, code="HQ", name="本部", kind="campus")
    ward = locations.add(session, code="ZY", name="住院楼", kind="building", parent=campus)
    fifth = locations.add(session, code="ZY-5F", name="5F", kind="floor", parent=ward)
    room = locations.add(session, code="ZY-5F-512", name="512病房", kind="room", parent=fifth)
    spare = locations.add(session, code="ZY-5F-513", name="513病房", kind="room", parent=fifth)
    clinic = locations.add(session, code="MZ", name="门诊楼", kind="building", parent=campus)
    when = datetime(2026, 1, 5, tzinfo=timezone.utc)
    lift = Asset(asset_no="EL-001", name="1号电梯", asset_class="elevator", location_id=ward.id, created_at=when)
    pump = Asset(asset_no="PUMP-1", name="输液泵", asset_class="infusion_pump", location_id=room.id, created_at=when)
    session.add_all([lift, pump])
    session.commit()
    return {"campus": campus.id, "ward": ward.id, "fifth": fifth.id, "room": room.id, "spare": spare.id,
            "clinic": clinic.id, "lift": lift.id, "pump": pump.id}


def _numbers(api, **filters) -> set[str]:
    return {row["asset_no"] for row in api.as_("keeper").get("/api/v1/assets", params=filters).json()["items"]}


def _status(api, asset_id: int) -> str:
    return api.as_("keeper").get(f"/api/v1/assets/{asset_id}").json()["status"]


# --- the register ------------------------------------------------------------------------------------

def test_a_device_moved_to_another_building_is_found_under_it_and_not_the_old_one(api, hospital):
    assert "PUMP-1" in _numbers(api, location_id=hospital["ward"])
    moved = api.as_("keeper").patch(f"/api/v1/assets/{hospital['pump']}", json={"location_code": "MZ", "team": "设备科"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["place"] == "本部 / 门诊楼" and moved.json()["team"] == "设备科"
    assert moved.json()["changes"]["place"] == {"from": "本部 / 住院楼 / 5F / 512病房", "to": "本部 / 门诊楼"}
    assert "PUMP-1" in _numbers(api, location_id=hospital["clinic"])
    assert "PUMP-1" not in _numbers(api, location_id=hospital["ward"])
    assert "PUMP-1" in _numbers(api, team="设备科")


def test_a_wrong_change_names_its_field_and_changes_nothing(api, hospital):
    for body, field in (({"location_code": "ZY-9F", "name": "新名"}, "location_code"),
                        ({"asset_class": "toaster", "team": "新班组"}, "asset_class"),
                        ({"name": " "}, "name"), ({"status": "lost"}, "status"),
                        ({"location_id": 99999}, "location_id"), ({"asset_no": "X"}, "asset_no")):
        response = api.as_("keeper").patch(f"/api/v1/assets/{hospital['pump']}", json=body)
        assert response.status_code == 422, (body, response.text)
        assert field in response.text
    device = api.as_("keeper").get(f"/api/v1/assets/{hospital['pump']}").json()
    assert device["name"] == "输液泵" and device["location_id"] == hospital["room"] and device["team"] is None
    assert api.as_("keeper").patch("/api/v1/assets/99999", json={"name": "x"}).status_code == 404


def test_a_retired_device_takes_no_reports_and_gets_no_label(api, session, hospital):
    retired = api.as_("boss").patch(f"/api/v1/assets/{hospital['lift']}", json={"status": "retired"})
    assert retired.status_code == 200 and retired.json()["changes"]["status"] == {"from": "in_service", "to": "retired"}
    report = api.as_("nurse").post("/api/v1/workorders", json={
        "process": "repair", "title": "电梯异响", "fields": {"category": "elevator"}, "asset_id": hospital["lift"]})
    assert report.status_code == 422 and report.json()["errors"][0]["field"] == "asset_id"
    assert "EL-001" not in {label.number for label in labels.of_assets(session)}
    assert "EL-001" in {label.number for label in labels.of_assets(session, status="retired")}


def test_the_status_follows_a_repair_from_filing_to_closing(api, hospital):
    first = api.new_order("nurse", asset_id=hospital["pump"])
    assert _status(api, hospital["pump"]) == "under_repair"
    second = api.new_order("nurse", asset_id=hospital["pump"], title="又报警")
    api.fire("desk", first["id"], "cancel", comment="重复报修")
    assert _status(api, hospital["pump"]) == "under_repair"  # one repair is still open
    api.fire("desk", second["id"], "cancel", comment="已自行恢复")
    assert _status(api, hospital["pump"]) == "in_service"


def test_a_repair_carried_through_to_its_close_puts_the_device_back_in_service(api, hospital):
    order = api.new_order("nurse", asset_id=hospital["lift"], fields={"category": "elevator"})
    assert _status(api, hospital["lift"]) == "under_repair"
    api.fire("desk", order["id"], "assign", assignee="tech")
    for event, body in (("accept", {}), ("start", {}), ("resolve", {"fields": {"labour_minutes": 30}})):
        api.fire("tech", order["id"], event, **body)
    assert _status(api, hospital["lift"]) == "under_repair"  # resolved: waiting for the requester's verdict
    api.fire("nurse", order["id"], "confirm")
    assert _status(api, hospital["lift"]) == "in_service"


def test_a_retired_device_stays_retired_when_its_last_repair_closes(api, hospital):
    order = api.new_order("nurse", asset_id=hospital["pump"])
    api.as_("keeper").patch(f"/api/v1/assets/{hospital['pump']}", json={"status": "retired"})
    api.fire("desk", order["id"], "cancel", comment="设备报废")
    assert _status(api, hospital["pump"]) == "retired"


# --- the tree ----------------------------------------------------------------------------------------

def test_renaming_a_building_renames_its_rooms_and_the_orders_places(api, hospital):
    order = api.new_order("nurse", location_id=hospital["room"])
    renamed = api.as_("boss").patch(f"/api/v1/locations/{hospital['ward']}", json={"name": "住院一号楼", "code": "ZY1"})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["full_name"] == "本部 / 住院一号楼" and renamed.json()["code"] == "ZY1"
    names = {n["code"]: n["full_name"] for n in api.as_("nurse").get("/api/v1/locations").json()}
    assert names["ZY-5F-512"] == "本部 / 住院一号楼 / 5F / 512病房" and names["MZ"] == "本部 / 门诊楼"
    assert api.as_("desk").get(f"/api/v1/workorders/{order['id']}").json()["place"] == "本部 / 住院一号楼 / 5F / 512病房"


def test_a_floor_moved_to_another_building_takes_its_rooms_along(api, hospital):
    moved = api.as_("boss").patch(f"/api/v1/locations/{hospital['fifth']}", json={"parent_code": "MZ"})
    assert moved.status_code == 200, moved.text
    nodes = {n["code"]: n for n in api.as_("nurse").get("/api/v1/locations").json()}
    assert nodes["ZY-5F-512"]["full_name"] == "本部 / 门诊楼 / 5F / 512病房" and nodes["ZY-5F-512"]["depth"] == 3
    assert nodes["ZY-5F"]["parent_id"] == hospital["clinic"]
    assert "PUMP-1" in _numbers(api, location_id=hospital["clinic"])
    assert "PUMP-1" not in _numbers(api, location_id=hospital["ward"])
    root = api.as_("boss").patch(f"/api/v1/locations/{hospital['fifth']}", json={"parent_id": None})
    assert root.json()["full_name"] == "5F" and root.json()["depth"] == 0
    rooms = {n["code"]: n for n in api.as_("nurse").get("/api/v1/locations", params={"under": hospital["fifth"]}).json()}
    assert rooms["ZY-5F-513"]["full_name"] == "5F / 513病房" and rooms["ZY-5F-513"]["depth"] == 1


def test_a_place_cannot_move_under_itself_or_its_own_rooms(api, hospital):
    for parent in (hospital["room"], hospital["ward"]):
        response = api.as_("boss").patch(f"/api/v1/locations/{hospital['ward']}", json={"parent_id": parent})
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "parent_id"
    assert {n["code"]: n for n in api.as_("nurse").get("/api/v1/locations").json()}["ZY"]["depth"] == 1


def test_a_move_whose_full_names_would_not_fit_is_refused(api, session, hospital):
    long = "长" * 100
    top = locations.add(session, code="A", name=long, kind="campus")
    other = locations.add(session, code="B", name=long, kind="campus")
    floor = locations.add(session, code="B-1", name=long, kind="building", parent=other)
    locations.add(session, code="B-1-1", name=long, kind="floor", parent=floor)  # "长…长 / 长…长 / 长…长": 306
    session.commit()
    response = api.as_("boss").patch(f"/api/v1/locations/{other.id}", json={"parent_id": top.id})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "parent_id"
    assert {n["code"]: n for n in api.as_("nurse").get("/api/v1/locations").json()}["B-1-1"]["depth"] == 2


def test_a_building_with_rooms_is_not_closed_an_empty_room_is(api, app, hospital):
    old = api.new_order("nurse", location_id=hospital["spare"])
    refused = api.as_("boss").patch(f"/api/v1/locations/{hospital['ward']}", json={"active": False})
    assert refused.status_code == 409 and "3" in refused.json()["detail"]  # the floor and its two rooms
    assert api.as_("boss").patch(f"/api/v1/locations/{hospital['room']}", json={"active": False}).status_code == 409
    closed = api.as_("boss").patch(f"/api/v1/locations/{hospital['spare']}", json={"active": False})
    assert closed.status_code == 200 and closed.json()["active"] is False
    assert "ZY-5F-513" not in {n["code"] for n in api.as_("nurse").get("/api/v1/locations").json()}
    form = visitor(app, "nurse").get("/submit/repair")
    assert "ZY-5F-512" in form.text and "ZY-5F-513" not in form.text
    report = api.as_("nurse").post("/api/v1/workorders", json={
        "process": "repair", "title": "漏水", "fields": {"category": "plumbing"}, "location_id": hospital["spare"]})
    assert report.status_code == 422
    assert api.as_("desk").get(f"/api/v1/workorders/{old['id']}").json()["place"] == "本部 / 住院楼 / 5F / 513病房"


def test_only_managers_change_the_register_and_only_admins_the_tree(api, hospital):
    assert api.as_("tech").patch(f"/api/v1/assets/{hospital['pump']}", json={"status": "retired"}).status_code == 403
    assert api.as_("tech").patch(f"/api/v1/locations/{hospital['room']}", json={"name": "x"}).status_code == 403
    assert api.as_("keeper").patch(f"/api/v1/locations/{hospital['room']}", json={"name": "x"}).status_code == 403
    assert api.as_("boss").patch("/api/v1/locations/99999", json={"name": "x"}).status_code == 404
    assert _status(api, hospital["pump"]) == "in_service"


# --- the pages ---------------------------------------------------------------------------------------

def test_logistics_moves_and_retires_a_device_from_its_page(app, api, hospital):
    keeper = visitor(app, "keeper")
    page = keeper.get(f"/assets/{hospital['pump']}")
    assert "修改台账" in text_of(page.text) and 'name="location_code"' in page.text
    form = {"status": "retired", "location_code": "MZ", "team": "设备科", "department": "", "name": "输液泵",
            "asset_class": "infusion_pump", "model": "", "manufacturer": "", "supplier": "", "contractor": "",
            "commissioned_on": "", "warranty_end": ""}
    shown = text_of(keeper.follow(keeper.post(f"/assets/{hospital['pump']}/edit", form)).text)
    assert "已保存：位置、班组、状态" in shown and "本部 / 门诊楼" in shown
    device = api.as_("keeper").get(f"/api/v1/assets/{hospital['pump']}").json()
    assert device["status"] == "retired" and device["location_id"] == hospital["clinic"] and device["team"] == "设备科"
    wrong = keeper.follow(keeper.post(f"/assets/{hospital['pump']}/edit", {**form, "warranty_end": "明年"}))
    assert "请修改后重试： 保修截止 须为日期" in text_of(wrong.text)
    assert api.as_("keeper").get(f"/api/v1/assets/{hospital['pump']}").json()["warranty_end"] is None


def test_a_technician_reads_a_devices_page_without_the_form_and_may_not_post_it(app, api, hospital):
    tech = visitor(app, "tech")
    assert 'action="/assets/' not in tech.get(f"/assets/{hospital['pump']}").text
    assert tech.post(f"/assets/{hospital['pump']}/edit", {"status": "retired"}).status_code == 403
    assert _status(api, hospital["pump"]) == "in_service"


def test_an_admin_renames_and_closes_places_on_the_tree_page(app, api, hospital):
    boss = visitor(app, "boss")
    renamed = boss.follow(boss.post(f"/admin/locations/{hospital['room']}",
                                    {"action": "save", "name": "512抢救室", "code": "ZY-5F-512", "parent_code": ""}))
    assert "已保存 本部 / 住院楼 / 5F / 512抢救室" in text_of(renamed.text)
    refused = text_of(boss.follow(boss.post(f"/admin/locations/{hospital['ward']}", {"action": "close"})).text)
    assert "不能停用：其下还有 3 个启用的位置、2 台在用设备" in refused
    boss.post(f"/admin/locations/{hospital['spare']}", {"action": "close"})
    page = boss.get("/admin/locations")
    assert "已停用的位置" in text_of(page.text) and "重新启用" in page.text
    assert "ZY-5F-513" not in {n["code"] for n in api.as_("nurse").get("/api/v1/locations").json()}
    boss.post(f"/admin/locations/{hospital['spare']}", {"action": "open"})
    assert "ZY-5F-513" in {n["code"] for n in api.as_("nurse").get("/api/v1/locations").json()}
