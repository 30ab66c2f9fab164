"""Follow-up calls (回访) over the API: the desk's queue of closed work to call back (every urgent repair and
request, a fifth of the rest, within three days), and the call recorded once, apart from the requester's rating."""
from datetime import datetime, timedelta

import pytest

from workflows.calls import bucket

# How the shipped repair.yaml samples: the numbers below fall in its 20% or not (bucket < 2000).
SAMPLED, NOT_SAMPLED = "RP-2026-000002", "RP-2026-000001"


@pytest.fixture
def people(api, test_clock):
    api.user("nurse", "requester", department="心内科")
    api.user("head", "dept_head", department="心内科")
    api.user("dispatcher", "dispatcher", department="后勤保障部")
    api.user("desk2", "dispatcher", department="后勤保障部")
    api.user("tech", "technician", department="后勤保障部")
    api.user("logistics", "logistics", department="后勤保障部")
    api.user("supervisor", "supervisor", department="后勤保障部")
    return api


def closed_repair(api, priority="normal", title="水龙头漏水") -> dict:
    order = api.new_order("nurse", title=title, priority=priority, fields={"category": "building"})
    api.fire("dispatcher", order["id"], "assign", assignee="tech")
    api.fire("tech", order["id"], "accept")
    api.fire("tech", order["id"], "start")
    api.fire("tech", order["id"], "resolve", fields={"labour_minutes": 20})
    response = api.as_("nurse").post(f"/api/v1/workorders/{order['id']}/feedback", json={"satisfied": True, "rating": 4})
    assert response.status_code == 200, response.text
    return response.json()


def queue(api, who="dispatcher", expect=200, **params) -> dict:
    response = api.as_(who).get("/api/v1/calls", params=params)
    assert response.status_code == expect, response.text
    return response.json()


def call(api, order_id, who="dispatcher", expect=200, **body) -> dict:
    response = api.as_(who).post(f"/api/v1/workorders/{order_id}/call", json=body)
    assert response.status_code == expect, response.text
    return response.json()


def calls_in_history(api, order_id) -> list[dict]:
    order = api.as_("dispatcher").get(f"/api/v1/workorders/{order_id}").json()
    return [entry for entry in order["history"] if entry["kind"] == "call"]


def test_the_desk_calls_every_urgent_repair_and_the_sampled_fifth_of_the_rest(people):
    assert bucket(SAMPLED) < 2000 <= bucket(NOT_SAMPLED)
    skipped = closed_repair(people, title="门把手松动")  # RP-…-000001
    sampled = closed_repair(people, title="灯管不亮")  # RP-…-000002
    urgent = closed_repair(people, priority="urgent", title="病房断电")  # RP-…-000003, outside the 20%
    assert (skipped["number"], sampled["number"]) == (NOT_SAMPLED, SAMPLED) and bucket(urgent["number"]) >= 2000
    open_one = people.new_order("nurse", priority="urgent", title="走廊漏水", fields={"category": "building"})

    listed = queue(people)
    assert [(item["number"], item["picked"]) for item in listed["items"]] == [
        (SAMPLED, "sampled"), (urgent["number"], "always")]  # longest waiting first; open work is not called
    assert listed["total"] == 2 and open_one["number"] not in {item["number"] for item in listed["items"]}
    first = listed["items"][0]
    assert first["attempts"] == 0 and first["last_attempt_at"] is None
    assert first["call_by"] == (datetime.fromisoformat(sampled["closed_at"]) + timedelta(days=3)).isoformat()
    assert queue(people) == listed  # the same work orders on every read


def test_an_urgent_material_request_signed_for_is_called_too(people):
    order = people.new_order("nurse", "procurement", title="领用输液器", priority="urgent",
                             fields={"items": ["输液器 100 支"], "amount": 800})
    people.fire("head", order["id"], "approve")
    people.fire("logistics", order["id"], "review", fields={"from_stock": True})
    people.fire("logistics", order["id"], "deliver")
    people.fire("nurse", order["id"], "confirm")
    assert [item["number"] for item in queue(people)["items"]] == [order["number"]]


def test_a_call_is_recorded_once_on_the_timeline_and_never_as_a_rating(people):
    order = closed_repair(people, priority="urgent")
    called = call(people, order["id"], reached=True, satisfied=True, comment="电话回访：已修好，满意")
    assert called["state"] == "closed"
    [entry] = calls_in_history(people, order["id"])
    assert (entry["actor"], entry["comment"], entry["data"]) == (
        "dispatcher", "电话回访：已修好，满意", {"reached": True, "satisfied": True})
    assert queue(people)["items"] == []
    again = call(people, order["id"], who="desk2", expect=409, reached=True, satisfied=False, comment="不满意")
    assert order["number"] in again["detail"]
    assert len(calls_in_history(people, order["id"])) == 1
    # The cockpit's ratings are the requester's stars alone: the call is counted apart.
    figures = cockpit(people)
    assert (figures["ratings"], figures["satisfaction_rate"]) == (1, 1.0)
    assert (figures["calls"], figures["call_satisfaction_rate"], figures["calls_unreached"]) == (1, 1.0, 0)


def cockpit(api) -> dict:
    response = api.as_("supervisor").get("/api/v1/dashboard", params={"from": "2026-10-01", "to": "2026-10-31"})
    assert response.status_code == 200, response.text
    return response.json()


def test_a_call_that_reached_nobody_is_tried_again_until_someone_answers(people, test_clock):
    order = closed_repair(people, priority="high")
    call(people, order["id"], reached=False, comment="无人接听")
    test_clock.advance(minutes=90)
    call(people, order["id"], who="desk2", reached=False)
    [item] = queue(people)["items"]
    assert item["attempts"] == 2 and item["last_attempt_at"] == test_clock.now().isoformat()
    body = call(people, order["id"], expect=422, reached=True, satisfied=False)
    assert [error["field"] for error in body["errors"]] == ["comment"]  # say what they are not satisfied with
    call(people, order["id"], reached=True, satisfied=False, comment="师傅走后又开始滴水")
    assert queue(people)["items"] == []
    assert [entry["data"] for entry in calls_in_history(people, order["id"])] == [
        {"reached": False}, {"reached": False}, {"reached": True, "satisfied": False}]
    figures = cockpit(people)
    assert (figures["calls"], figures["calls_unreached"], figures["call_satisfaction_rate"]) == (1, 2, 0.0)
    assert (figures["ratings"], figures["satisfaction_rate"]) == (1, 1.0)  # the requester's own stars


def test_only_those_the_definition_names_make_calls(people):
    order = closed_repair(people, priority="urgent")
    for who in ("nurse", "tech", "supervisor"):
        queue(people, who, 403)
        call(people, order["id"], who=who, expect=403, reached=True, satisfied=True)
    assert calls_in_history(people, order["id"]) == []


def test_a_work_order_not_due_a_call_is_refused_and_nothing_is_recorded(people, test_clock):
    skipped = closed_repair(people)  # outside the sampled fifth
    assert skipped["number"] == NOT_SAMPLED
    call(people, skipped["id"], expect=409, reached=True, satisfied=True)
    working = people.new_order("nurse", priority="urgent", fields={"category": "building"})
    call(people, working["id"], expect=409, reached=True, satisfied=True)  # not closed yet
    late = closed_repair(people, priority="urgent")
    test_clock.advance(days=3, minutes=1)  # past `within: 3d` after closing
    assert queue(people)["items"] == []
    call(people, late["id"], expect=409, reached=True, satisfied=True)
    for order in (skipped, working, late):
        assert calls_in_history(people, order["id"]) == []


@pytest.mark.parametrize("body, field", [
    ({"reached": True}, "satisfied"),  # reached: say whether they are satisfied
    ({"reached": False, "satisfied": True}, "satisfied"),  # nobody answered: nobody was satisfied
    ({"reached": "maybe"}, "reached"),
    ({"satisfied": True}, "reached"),
    ({"reached": True, "satisfied": True, "rating": 5}, "rating"),  # a call asks for no stars
    ({"reached": True, "satisfied": True, "comment": "很" * 2001}, "comment"),
])
def test_a_call_form_filled_in_wrong_is_refused_with_what_to_fix(people, body, field):
    order = closed_repair(people, priority="urgent")
    refused = call(people, order["id"], expect=422, **body)
    assert field in [error["field"] for error in refused["errors"]], refused
    assert calls_in_history(people, order["id"]) == []
    assert [item["number"] for item in queue(people)["items"]] == [order["number"]]
