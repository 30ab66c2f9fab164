"""Complaints close only after a dispatcher's follow-up call (回访) records the complainant's answer."""
import pytest


@pytest.fixture
def replied(api, test_clock):
    api.user("patient", "requester", department="门诊部")
    api.user("dispatcher", "dispatcher", department="后勤保障部")
    api.user("handler", "technician", department="后勤保障部")
    api.user("boss", "supervisor", department="后勤保障部")
    order = api.new_order("patient", "complaint", title="食堂饭菜偏凉", fields={"channel": "hotline"})
    api.fire("dispatcher", order["id"], "accept")
    api.fire("dispatcher", order["id"], "assign", assignee="handler")
    api.fire("handler", order["id"], "start")
    api.fire("handler", order["id"], "reply", fields={"reply": "已要求食堂加装保温设备"})
    return api, order["id"]


def feedback(api, who, order_id, expect=200, **body):
    response = api.as_(who).post(f"/api/v1/workorders/{order_id}/feedback", json=body)
    assert response.status_code == expect, response.text
    return response.json()


def test_a_complaint_cannot_be_closed_without_the_complainants_answer(replied):
    api, order_id = replied
    body = api.fire("dispatcher", order_id, "confirm", expect=422)
    assert "followup_answer is required" in body["detail"]
    body = feedback(api, "dispatcher", order_id, 422, satisfied=True, rating=5)
    assert body["errors"] == [{"field": "comment", "code": "required_in_comment",
                               "message": "followup_answer is required: give it in 'comment'"}]
    assert api.as_("dispatcher").get(f"/api/v1/workorders/{order_id}").json()["state"] == "replied"


def test_the_follow_up_call_is_recorded_by_a_dispatcher_not_by_the_complainant(replied):
    api, order_id = replied
    feedback(api, "patient", order_id, 403, satisfied=True, rating=5, comment="满意")
    order = feedback(api, "dispatcher", order_id, satisfied=True, rating=5, comment="电话回访：饭菜已是热的，满意")
    assert order["state"] == "closed"
    assert order["fields"]["followup_answer"] == "电话回访：饭菜已是热的，满意"
    [closing] = [h for h in order["history"] if h["event"] == "confirm"]
    assert closing["actor"] == "dispatcher" and closing["data"]["fields"] == {"followup_answer": "电话回访：饭菜已是热的，满意"}


def test_an_unsatisfied_answer_reopens_and_escalates_to_a_supervisor_at_once(replied):
    api, order_id = replied
    order = feedback(api, "dispatcher", order_id, satisfied=False, comment="回访：仍然是凉的")
    assert order["state"] == "reopened" and order["reopen_count"] == 1 and order["escalation_level"] == 1
    assert order["fields"]["followup_answer"] == "回访：仍然是凉的"
    assert [t["cycle"] for t in order["sla"] if t["name"] == "reply"] == [1, 2]
    notes = api.as_("boss").get("/api/v1/notifications").json()
    assert [(n["kind"], n["work_order_id"]) for n in notes] == [("escalation", order_id)]
