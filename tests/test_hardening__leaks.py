"""Small leaks and gaps, each tried as the attack: what another department's order says, where a requester
may file, who may approve their own request, which outside addresses a channel may reach, whose address the
sign-in limit counts, and what `role@department` means when nobody has a department."""
import re
from types import SimpleNamespace

import pytest

from page_support import text_of, visitor
from workflows.authority import IN_DEPARTMENT, reach, who

REQUEST = {"items": ["输液泵 2 台"], "amount": 3600}


@pytest.fixture
def staff(api):
    api.user("nurse", "requester", department="心内科")
    api.user("head", "dept_head", department="心内科")
    api.user("deputy", "dept_head", department="心内科")
    api.user("other_head", "dept_head", department="急诊科")
    api.user("dispatcher", "dispatcher", department="后勤保障部")
    api.user("logistics", "logistics", department="后勤保障部")
    api.user("supervisor", "supervisor", department="后勤保障部")
    api.user("tech", "technician", department="后勤保障部", team="水电班")
    return api


def _total(api, username: str) -> int:
    return api.as_(username).get("/api/v1/workorders").json()["total"]


# --- 1. a refusal says nothing of a work order the caller cannot see -----------------------------

def test_another_departments_head_with_a_stale_version_learns_nothing_of_the_request(staff):
    order = staff.new_order("nurse", "procurement", fields=REQUEST)
    answers = [staff.as_("other_head").post(f"/api/v1/workorders/{order['id']}/events/approve",
                                            json={"expected_version": version}) for version in (1, 7)]
    staff.fire("head", order["id"], "approve")  # now in another state: the answer must not tell that either
    answers.append(staff.as_("other_head").post(f"/api/v1/workorders/{order['id']}/events/approve", json={}))
    for answer in answers:
        assert answer.status_code == 403, answer.text
        assert answer.json() == {"detail": "'approve' may be done only by: dept_head@department"}
        assert order["number"] not in answer.text and "version" not in answer.text


def test_another_departments_requester_gets_404_whatever_the_event(staff):
    staff.user("stranger", "requester", department="急诊科")
    order = staff.new_order("nurse", "procurement", fields=REQUEST)
    for event, body in (("approve", {"expected_version": 9}), ("confirm", {}), ("fly", {})):
        answer = staff.as_("stranger").post(f"/api/v1/workorders/{order['id']}/events/{event}", json=body)
        assert answer.status_code == 404 and order["number"] not in answer.text


# --- 2. clinical staff file for their own department -----------------------------------------------

def test_a_requester_cannot_file_into_another_department(staff):
    staff.user("visitor", "requester")  # no department at all
    before = _total(staff, "supervisor")
    for username in ("nurse", "head", "visitor"):
        answer = staff.as_(username).post("/api/v1/workorders", json={
            "process": "procurement", "title": "输液泵", "department": "急诊科", "fields": REQUEST})
        assert answer.status_code == 403, answer.text
        assert "your own department" in answer.json()["detail"]
    assert _total(staff, "supervisor") == before
    assert _total(staff, "other_head") == 0  # nothing landed in the emergency department's lists


def test_a_requester_naming_their_own_department_and_the_desk_filing_for_any_are_accepted(staff):
    own = staff.new_order("nurse", "procurement", department="心内科", fields=REQUEST)
    assert own["department"] == "心内科"
    phoned = staff.new_order("dispatcher", "repair", department="急诊科")
    assert phoned["department"] == "急诊科"
    assert staff.as_("other_head").get(f"/api/v1/workorders/{phoned['id']}").status_code == 200


def test_the_submit_page_offers_no_department_to_a_requester_and_refuses_a_forged_one(app, staff):
    nurse = visitor(app, "nurse")
    assert 'name="department"' not in nurse.get("/submit/repair").text
    assert 'name="department"' in visitor(app, "dispatcher").get("/submit/repair").text
    forged = nurse.post("/submit/repair", {"title": "水龙头漏水", "f.category": "plumbing", "priority": "normal",
                                           "department": "急诊科"})
    assert forged.status_code == 403
    assert "只能为本科室提交" in text_of(forged.text)
    assert _total(staff, "supervisor") == 0


# --- 3. the different-person rule where the domain asks for it -----------------------------------

def test_a_department_head_cannot_approve_their_own_request(staff):
    order = staff.new_order("head", "procurement", fields=REQUEST)
    assert "approve" not in order["available_events"]
    refused = staff.fire("head", order["id"], "approve", expect=403)
    assert refused["detail"] == "'approve' must be done by someone other than who filed the work order"
    assert staff.as_("head").get("/api/v1/inbox").json()["total"] == 0
    assert staff.as_("deputy").get("/api/v1/inbox").json()["total"] == 1
    assert staff.fire("deputy", order["id"], "approve")["state"] == "dept_approved"


def test_a_leader_cannot_approve_their_own_large_request(staff):
    staff.user("leader", "leader", department="院办")
    staff.user("leader2", "leader", department="院办")
    staff.user("office_head", "dept_head", department="院办")
    order = staff.new_order("leader", "procurement", fields={"items": ["CT"], "amount": 900000})
    staff.fire("office_head", order["id"], "approve")
    staff.fire("logistics", order["id"], "review")
    assert "someone other than who filed" in staff.fire("leader", order["id"], "approve_leader", expect=403)["detail"]
    assert staff.fire("leader2", order["id"], "approve_leader")["state"] == "leader_approved"


def test_a_technician_cannot_accept_their_own_repair(staff):
    order = staff.new_order("tech", "repair")  # found on rounds, reported by the technician himself
    staff.fire("dispatcher", order["id"], "assign", assignee="tech")
    for event in ("accept", "start"):
        staff.fire("tech", order["id"], event)
    resolved = staff.fire("tech", order["id"], "resolve", fields={"labour_minutes": 30})
    assert "confirm" not in resolved["available_events"]
    refused = staff.as_("tech").post(f"/api/v1/workorders/{order['id']}/feedback", json={"satisfied": True, "rating": 5})
    assert refused.status_code == 403 and "someone other than who did 'resolve'" in refused.json()["detail"]


def test_whoever_replied_to_a_complaint_does_not_make_its_follow_up_call(staff):
    staff.user("desk2", "dispatcher", department="后勤保障部")
    order = staff.new_order("dispatcher", "complaint", title="病房太吵", fields={"channel": "hotline"})
    staff.fire("dispatcher", order["id"], "accept")
    staff.fire("dispatcher", order["id"], "assign", assignee="dispatcher")
    staff.fire("dispatcher", order["id"], "start")
    staff.fire("dispatcher", order["id"], "reply", fields={"reply": "已处理"})
    for event in ("confirm", "reopen"):
        body = staff.fire("dispatcher", order["id"], event, expect=403, fields={"followup_answer": "满意"})
        assert "someone other than who did 'reply'" in body["detail"]
    assert staff.fire("desk2", order["id"], "confirm", fields={"followup_answer": "满意"})["state"] == "closed"


# --- 7. role@department needs a department on both sides ----------------------------------------

def test_a_head_without_a_department_cannot_approve_a_request_without_one(staff):
    staff.user("walk_in", "requester")  # no department: the request has none either
    staff.user("floater", "dept_head", "logistics")  # sees the whole pool, belongs to no department
    order = staff.new_order("walk_in", "procurement", fields=REQUEST)
    assert order["department"] is None
    assert "approve" not in staff.as_("floater").get(f"/api/v1/workorders/{order['id']}").json()["available_events"]
    staff.fire("floater", order["id"], "approve", expect=403)


def test_role_at_department_never_matches_nobody_to_nobody():
    scoped = who("dept_head@department")
    order = SimpleNamespace(department_id=None)
    headless = SimpleNamespace(roles=frozenset({"dept_head"}), department_id=None)
    assert not scoped(order, headless)
    assert reach("dept_head@department", headless) is None
    placed = SimpleNamespace(roles=frozenset({"dept_head"}), department_id=3)
    assert scoped(SimpleNamespace(department_id=3), placed) and reach("dept_head@department", placed) == IN_DEPARTMENT
