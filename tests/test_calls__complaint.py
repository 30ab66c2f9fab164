"""A complaint's follow-up (回访) is a call like any other: the desk records reached or not, satisfied or not and what
the complainant said; satisfied closes the complaint, unsatisfied reopens and escalates it, and no stars are asked."""
import pytest


@pytest.fixture
def replied(api, test_clock):
    api.user("patient", "requester", department="门诊部")
    api.user("dispatcher", "dispatcher", department="后勤保障部")
    api.user("desk2", "dispatcher", department="后勤保障部")
    api.user("handler", "technician", department="后勤保障部")
    api.user("boss", "supervisor", department="后勤保障部")
    order = api.new_order("patient", "complaint", title="食堂饭菜偏凉", priority="low", fields={"channel": "hotline"})
    api.fire("dispatcher", order["id"], "accept")
    api.fire("dispatcher", order["id"], "assign", assignee="handler")
    api.fire("handler", order["id"], "start")
    api.fire("handler", order["id"], "reply", fields={"reply": "已要求食堂加装保温设备"})
    return api, order


def call(api, order_id, who="dispatcher", expect=200, **body) -> dict:
    response = api.as_(who).post(f"/api/v1/workorders/{order_id}/call", json=body)
    assert response.status_code == expect, response.text
    return response.json()


def queued(api) -> list[str]:
    return [item["number"] for item in api.as_("dispatcher").get("/api/v1/calls").json()["items"]]


def test_every_replied_complaint_waits_for_its_call_whatever_its_priority(replied):
    api, order = replied
    [item] = api.as_("dispatcher").get("/api/v1/calls").json()["items"]
    assert (item["number"], item["picked"], item["call_by"]) == (order["number"], "always", None)


def test_a_satisfied_complainant_closes_the_complaint_with_the_call_notes_as_its_answer(replied):
    api, order = replied
    closed = call(api, order["id"], reached=True, satisfied=True, comment="电话回访：饭菜已是热的，满意")
    assert closed["state"] == "closed" and closed["fields"]["followup_answer"] == "电话回访：饭菜已是热的，满意"
    kinds = [(entry["kind"], entry["event"]) for entry in closed["history"][-2:]]
    assert kinds == [("transition", "confirm"), ("call", None)]
    assert closed["history"][-1]["data"] == {"reached": True, "satisfied": True}
    assert queued(api) == []
    figures = api.as_("boss").get("/api/v1/dashboard", params={"from": "2026-10-01", "to": "2026-10-31"}).json()
    assert (figures["ratings"], figures["calls"], figures["call_satisfaction_rate"]) == (0, 1, 1.0)  # not a rating


def test_an_unsatisfied_complainant_reopens_it_and_a_supervisor_is_told_at_once(replied):
    api, order = replied
    reopened = call(api, order["id"], reached=True, satisfied=False, comment="回访：仍然是凉的")
    assert (reopened["state"], reopened["reopen_count"], reopened["escalation_level"]) == ("reopened", 1, 1)
    assert reopened["fields"]["followup_answer"] == "回访：仍然是凉的"
    notes = api.as_("boss").get("/api/v1/notifications").json()
    assert [(n["kind"], n["work_order_id"]) for n in notes] == [("escalation", order["id"])]
    assert queued(api) == []


def test_nobody_answering_leaves_the_complaint_waiting_for_another_call(replied):
    api, order = replied
    still = call(api, order["id"], reached=False, comment="投诉人未接电话")
    assert still["state"] == "replied" and "followup_answer" not in still["fields"]
    [item] = api.as_("dispatcher").get("/api/v1/calls").json()["items"]
    assert item["attempts"] == 1
    assert call(api, order["id"], who="desk2", reached=True, satisfied=True, comment="满意")["state"] == "closed"


def test_the_complainants_answer_is_needed_to_close_it(replied):
    api, order = replied
    refused = call(api, order["id"], expect=422, reached=True, satisfied=True)
    assert [error["field"] for error in refused["errors"]] == ["comment"]
    assert api.as_("dispatcher").get(f"/api/v1/workorders/{order['id']}").json()["state"] == "replied"
    assert queued(api) == [order["number"]]


def test_whoever_answered_the_complaint_does_not_call_the_complainant(api, test_clock):
    api.user("patient", "requester", department="门诊部")
    api.user("dispatcher", "dispatcher", department="后勤保障部")
    order = api.new_order("patient", "complaint", title="病房太吵", fields={"channel": "hotline"})
    api.fire("dispatcher", order["id"], "accept")
    api.fire("dispatcher", order["id"], "assign", assignee="dispatcher")
    api.fire("dispatcher", order["id"], "start")
    api.fire("dispatcher", order["id"], "reply", fields={"reply": "已调整"})
    call(api, order["id"], expect=403, reached=True, satisfied=True, comment="满意")
    assert api.as_("dispatcher").get(f"/api/v1/workorders/{order['id']}").json()["state"] == "replied"


def test_the_follow_up_events_still_close_a_complaint_for_scripts(replied):
    api, order = replied
    closed = api.fire("desk2", order["id"], "confirm", fields={"followup_answer": "满意"})
    assert closed["state"] == "closed" and queued(api) == []
