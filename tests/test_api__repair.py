"""A repair's whole life over HTTP, and each error a user can run into on the way."""
import pytest


@pytest.fixture
def people(api):
    api.user("nurse", "requester", department="心内科")
    api.user("nurse2", "requester", department="急诊科")
    api.user("dispatcher", "dispatcher", department="后勤保障部")
    api.user("tech", "technician", department="后勤保障部")
    api.user("tech2", "technician", department="后勤保障部")
    api.user("supervisor", "supervisor", department="后勤保障部")
    return api


def test_a_repair_runs_from_report_to_closed(people, test_clock):
    api = people
    order = api.new_order("nurse", title="病房水龙头漏水", location="5F 512", priority="normal")
    assert order["number"].startswith("RP-2026-") and len(order["number"]) == len("RP-2026-000001")
    assert order["state"] == "reported" and order["version"] == 1 and order["department"] == "心内科"
    assert order["reporter"] == "nurse" and order["assignee"] is None
    assert order["available_events"] == ["cancel"]
    assert {t["name"] for t in order["sla"]} == {"response", "resolution"}

    order = api.fire("dispatcher", order["id"], "assign", assignee="tech", comment="请尽快处理")
    assert (order["state"], order["assignee"], order["version"]) == ("assigned", "tech", 2)
    assert order["first_contact"] == "dispatcher"
    for event in ("accept", "start"):
        order = api.fire("tech", order["id"], event)
    order = api.fire("tech", order["id"], "hold", fields={"hold_reason": "waiting_parts"})
    order = api.fire("tech", order["id"], "resume")
    order = api.fire("tech", order["id"], "resolve", fields={"labour_minutes": 45, "parts": ["阀芯"]})
    assert order["state"] == "resolved" and order["fields"]["labour_minutes"] == 45
    order = api.fire("nurse", order["id"], "confirm")
    assert order["state"] == "closed" and order["closed"] is True and order["available_events"] == []

    steps = [(h["event"], h["actor"], h["from"], h["to"]) for h in order["history"] if h["kind"] == "transition"]
    assert steps == [
        ("assign", "dispatcher", "reported", "assigned"), ("accept", "tech", "assigned", "accepted"),
        ("start", "tech", "accepted", "in_progress"), ("hold", "tech", "in_progress", "on_hold"),
        ("resume", "tech", "on_hold", "in_progress"), ("resolve", "tech", "in_progress", "resolved"),
        ("confirm", "nurse", "resolved", "closed"),
    ]
    assert order["history"][0]["kind"] == "create"
    [assign] = [h for h in order["history"] if h["event"] == "assign"]
    assert assign["comment"] == "请尽快处理" and assign["data"]["assignee"] == "tech"


def test_numbers_count_up_per_process_and_year(people):
    first = people.new_order("nurse")
    second = people.new_order("nurse")
    assert int(second["number"][-6:]) == int(first["number"][-6:]) + 1


def test_event_not_allowed_in_this_state_is_409(people):
    order = people.new_order("nurse")
    body = people.fire("nurse", order["id"], "confirm", expect=409)
    assert "not allowed in state 'reported'" in body["detail"] and "cancel" in body["detail"]
    assert "no event 'fly'" in people.fire("dispatcher", order["id"], "fly", expect=409)["detail"]


def test_wrong_role_is_403_and_changes_nothing(people):
    order = people.new_order("nurse")
    body = people.fire("nurse", order["id"], "assign", expect=403, assignee="tech")
    assert "dispatcher, supervisor" in body["detail"]
    assert people.as_("nurse").get(f"/api/v1/workorders/{order['id']}").json()["version"] == 1


def test_only_the_assignee_may_accept(people):
    order = people.new_order("nurse")
    people.fire("dispatcher", order["id"], "assign", assignee="tech")
    people.fire("tech2", order["id"], "accept", expect=403)
    people.fire("tech", order["id"], "accept")


def test_missing_or_bad_fields_are_422_with_what_to_fix(people):
    order = people.new_order("nurse")
    assert "assignee" in people.fire("dispatcher", order["id"], "assign", expect=422)["detail"]
    assert "no active user named 'ghost'" in people.fire("dispatcher", order["id"], "assign", expect=422, assignee="ghost")["detail"]
    people.fire("dispatcher", order["id"], "assign", assignee="tech")
    people.fire("tech", order["id"], "accept")
    people.fire("tech", order["id"], "start")
    body = people.fire("tech", order["id"], "resolve", expect=422)
    assert body["errors"] == [{"field": "fields.labour_minutes", "code": "required", "message": "labour_minutes is required"}]
    assert "at least 0" in people.fire("tech", order["id"], "resolve", expect=422, fields={"labour_minutes": -5})["detail"]
    assert "whole number" in people.fire("tech", order["id"], "resolve", expect=422, fields={"labour_minutes": 1.5})["detail"]
    assert "must be a list" in people.fire("tech", order["id"], "resolve", expect=422, fields={"labour_minutes": 5, "parts": "x"})["detail"]
    assert "cannot be set here" in people.fire("tech", order["id"], "resolve", expect=422, fields={"labour_minutes": 5, "category": "hvac"})["detail"]
    assert people.as_("tech").get(f"/api/v1/workorders/{order['id']}").json()["state"] == "in_progress"


def test_a_stale_expected_version_is_409_and_loses_nothing(people):
    order = people.new_order("nurse")
    people.fire("dispatcher", order["id"], "assign", assignee="tech", expected_version=1)
    body = people.fire("supervisor", order["id"], "reassign", expect=409, assignee="tech2", expected_version=1)
    assert "changed by someone else" in body["detail"] and "version 2" in body["detail"]
    current = people.as_("tech").get(f"/api/v1/workorders/{order['id']}").json()
    assert (current["assignee"], current["version"]) == ("tech", 2)


def test_concurrent_writers_one_wins_the_other_gets_409(people, db_url):
    """Two sessions load the same version; the second commit is refused, not merged."""
    from sqlmodel import Session

    from engine.errors import Conflict
    from engine.storage import unit_of_work
    from engine.storage.db import get_engine
    from engine.storage.models import WorkOrder

    order = people.new_order("nurse")
    with Session(get_engine(db_url)) as first, Session(get_engine(db_url)) as second:
        a, b = first.get(WorkOrder, order["id"]), second.get(WorkOrder, order["id"])
        a.title = "first"
        first.commit()
        b.title = "second"
        with pytest.raises(Conflict):
            unit_of_work.commit(second)
    current = people.as_("nurse").get(f"/api/v1/workorders/{order['id']}").json()
    assert current["title"] == "first" and current["version"] == 2


def test_reopen_sends_it_back_to_the_same_technician(people):
    order = people.new_order("nurse")
    people.fire("dispatcher", order["id"], "assign", assignee="tech")
    for event in ("accept", "start"):
        people.fire("tech", order["id"], event)
    people.fire("tech", order["id"], "resolve", fields={"labour_minutes": 10})
    order = people.fire("nurse", order["id"], "reopen", comment="还在漏")
    assert (order["state"], order["assignee"]) == ("assigned", "tech")


def test_cancel_by_reporter_or_dispatcher_only(people):
    order = people.new_order("nurse")
    people.fire("nurse2", order["id"], "cancel", expect=404)  # another department cannot even see it
    people.fire("tech", order["id"], "cancel", expect=403)  # staff see it, but may not cancel
    unexplained = people.fire("nurse", order["id"], "cancel", expect=422)  # a cancel says why
    assert "comment" in unexplained["detail"]
    assert people.fire("nurse", order["id"], "cancel", comment="已自行修好")["state"] == "cancelled"


def test_unknown_work_order_is_404(people):
    assert people.as_("dispatcher").get("/api/v1/workorders/999999").status_code == 404
    people.fire("dispatcher", 999999, "assign", expect=404, assignee="tech")


def test_departments_see_their_own_and_the_desk_sees_all(people):
    mine = people.new_order("nurse")
    theirs = people.new_order("nurse2")
    assert people.as_("nurse").get(f"/api/v1/workorders/{theirs['id']}").status_code == 404
    listed = people.as_("nurse").get("/api/v1/workorders").json()
    assert [o["id"] for o in listed["items"]] == [mine["id"]] and listed["total"] == 1
    assert people.as_("dispatcher").get("/api/v1/workorders").json()["total"] == 2
    assert people.as_("supervisor").get(f"/api/v1/workorders/{mine['id']}").status_code == 200


def test_list_filters(people):
    leak = people.new_order("nurse", title="水龙头漏水", priority="urgent")
    lamp = people.new_order("nurse", title="灯不亮", priority="low", fields={"category": "electrical"})
    people.fire("dispatcher", lamp["id"], "assign", assignee="tech")
    desk = people.as_("dispatcher")

    def ids(query):
        response = desk.get(f"/api/v1/workorders?{query}")
        assert response.status_code == 200, response.text
        return [o["id"] for o in response.json()["items"]]

    assert ids("priority=urgent") == [leak["id"]]
    assert ids("state=assigned") == [lamp["id"]]
    assert ids("assignee=tech") == [lamp["id"]]
    assert ids("q=漏水") == [leak["id"]]
    assert ids(f"q={lamp['number']}") == [lamp["id"]]
    assert ids("department=心内科") == [lamp["id"], leak["id"]]
    assert ids("process=hazard") == []
    assert ids("limit=1&offset=1") == [leak["id"]]
    assert desk.get("/api/v1/workorders?limit=0").status_code == 422
    assert desk.get("/api/v1/workorders?priority=panic").status_code == 422


def test_creating_with_bad_input_is_422_and_creates_nothing(people):
    client = people.as_("nurse")
    cases = [
        ({"process": "teleport", "title": "x"}, "unknown process 'teleport'"),
        ({"process": "repair", "title": "x", "fields": {}}, "category is required"),
        ({"process": "repair", "title": "x", "fields": {"category": "magic"}}, "category must be one of"),
        ({"process": "repair", "title": "x", "priority": "asap", "fields": {"category": "hvac"}}, "priority"),
        ({"process": "repair", "title": "x", "department": "火星科", "fields": {"category": "hvac"}}, "火星科"),
        ({"process": "repair", "title": "", "fields": {"category": "hvac"}}, "title"),
    ]
    for body, message in cases:
        response = client.post("/api/v1/workorders", json=body)
        assert response.status_code == 422, body
        assert message in response.json()["detail"], response.json()
    assert people.as_("dispatcher").get("/api/v1/workorders").json()["total"] == 0


def test_patch_changes_priority_and_is_recorded(people):
    order = people.new_order("nurse", priority="normal")
    assert people.as_("nurse").patch(f"/api/v1/workorders/{order['id']}", json={"priority": "urgent"}).status_code == 403
    response = people.as_("dispatcher").patch(f"/api/v1/workorders/{order['id']}",
                                              json={"priority": "urgent", "location": "6F", "expected_version": 1})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["priority"], body["location"], body["version"]) == ("urgent", "6F", 2)
    [update] = [h for h in body["history"] if h["kind"] == "update"]
    assert update["actor"] == "dispatcher" and update["data"]["priority"] == {"from": "normal", "to": "urgent"}
    stale = people.as_("dispatcher").patch(f"/api/v1/workorders/{order['id']}", json={"title": "y", "expected_version": 1})
    assert stale.status_code == 409


def test_requests_without_a_token_are_401(api):
    assert api.client.get("/api/v1/workorders").status_code == 401
    assert api.client.get("/api/v1/workorders", headers={"Authorization": "Bearer forged"}).status_code == 401
    bad = api.client.post("/api/v1/auth/token", data={"username": "nobody", "password": "wrong-password"})
    assert bad.status_code == 401 and "wrong username or password" in bad.json()["detail"]


def test_test_clock_route(people, monkeypatch):
    response = people.client.put("/api/v1/_test/clock", json={"now": "2026-10-09T17:00:00+08:00"})
    assert response.status_code == 200
    order = people.new_order("nurse")
    assert order["created_at"].startswith("2026-10-09T09:00:00")
    people.client.put("/api/v1/_test/clock", json={"now": None})


def test_test_clock_route_does_not_exist_without_the_flag(db_url, monkeypatch):
    from fastapi.testclient import TestClient

    from web.app import create_app

    monkeypatch.delenv("HOUQIN_TEST_CLOCK", raising=False)
    client = TestClient(create_app())
    assert client.put("/api/v1/_test/clock", json={"now": "2026-10-09T17:00:00+08:00"}).status_code == 404
