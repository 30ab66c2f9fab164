"""Procurement, hazard and complaint over HTTP, and publishing definitions."""
from pathlib import Path

import pytest

DEFINITIONS = Path(__file__).resolve().parents[1] / "definitions"


@pytest.fixture
def staff(api):
    api.user("nurse", "requester", department="心内科")
    api.user("head", "dept_head", department="心内科")
    api.user("other_head", "dept_head", department="急诊科")
    api.user("logistics", "logistics", department="后勤保障部")
    api.user("purchaser", "purchaser", department="采购中心")
    api.user("leader", "leader", department="院办")
    api.user("dispatcher", "dispatcher", department="后勤保障部")
    api.user("supervisor", "supervisor", department="后勤保障部")
    api.user("tech", "technician", department="后勤保障部")
    api.user("inspector", "inspector", department="保卫科")
    api.user("inspector2", "inspector", department="保卫科")
    api.user("designer", "designer")
    return api


def material_request(api, amount):
    return api.new_order("nurse", "procurement", title="输液泵", fields={"items": ["输液泵 2 台"], "amount": amount})


def test_a_small_material_request_goes_straight_to_purchasing(staff):
    order = material_request(staff, 36000)
    staff.fire("other_head", order["id"], "approve", expect=403)  # head of another department
    staff.fire("head", order["id"], "approve")
    order = staff.fire("logistics", order["id"], "review")
    assert order["state"] == "reviewed"
    assert "purchase" in staff.as_("purchaser").get(f"/api/v1/workorders/{order['id']}").json()["available_events"]
    staff.fire("leader", order["id"], "approve_leader", expect=409)
    for event in ("purchase", "order", "receive"):
        order = staff.fire("purchaser", order["id"], event)
    order = staff.fire("logistics", order["id"], "deliver")
    order = staff.fire("nurse", order["id"], "confirm")
    assert order["state"] == "closed"


def test_a_large_material_request_needs_leadership_first(staff):
    order = material_request(staff, 180000)
    staff.fire("head", order["id"], "approve")
    staff.fire("logistics", order["id"], "review")
    body = staff.fire("purchaser", order["id"], "purchase", expect=409)
    assert "condition 'amount < 50000' does not hold" in body["detail"]
    assert "purchase" not in staff.as_("purchaser").get(f"/api/v1/workorders/{order['id']}").json()["available_events"]
    staff.fire("leader", order["id"], "approve_leader")
    assert staff.fire("purchaser", order["id"], "purchase")["state"] == "purchasing"


def test_the_threshold_itself_needs_leadership(staff):
    order = material_request(staff, 50000)
    staff.fire("head", order["id"], "approve")
    staff.fire("logistics", order["id"], "review")
    staff.fire("purchaser", order["id"], "purchase", expect=409)


def test_rejection_needs_a_reason_and_ends_the_request(staff):
    order = material_request(staff, 800)
    staff.fire("head", order["id"], "reject", expect=422)
    order = staff.fire("head", order["id"], "reject", comment="预算不足")
    assert order["state"] == "rejected" and order["closed"]
    staff.fire("logistics", order["id"], "review", expect=409)


def test_amount_must_be_a_number(staff):
    response = staff.as_("nurse").post("/api/v1/workorders", json={
        "process": "procurement", "title": "x", "fields": {"items": ["x"], "amount": "lots"}})
    assert response.status_code == 422 and "amount must be a number" in response.json()["detail"]


def hazard(api):
    return api.new_order("inspector", "hazard", title="消防通道堆放杂物", location="门诊楼B1",
                         fields={"category": "fire", "risk_level": "high"})


def test_a_hazard_is_crossed_off_by_another_person_after_reinspection(staff):
    order = hazard(staff)
    staff.fire("inspector", order["id"], "register")
    staff.fire("supervisor", order["id"], "assign", assignee="tech", fields={"responsible_department": "门诊部"})
    staff.fire("tech", order["id"], "start")
    staff.fire("tech", order["id"], "submit_fix", fields={"measures": "清理杂物"})
    staff.fire("inspector", order["id"], "fail", comment="仍有纸箱")
    staff.fire("tech", order["id"], "submit_fix")
    order = staff.fire("inspector2", order["id"], "pass")
    assert order["state"] == "closed_out"


def test_the_rectifier_may_not_reinspect_their_own_fix(staff):
    staff.user("inspecting_tech", "inspector", "technician", department="后勤保障部")
    order = hazard(staff)
    staff.fire("inspector", order["id"], "register")
    staff.fire("supervisor", order["id"], "assign", assignee="inspecting_tech")
    staff.fire("inspecting_tech", order["id"], "start")
    staff.fire("inspecting_tech", order["id"], "submit_fix")
    body = staff.fire("inspecting_tech", order["id"], "pass", expect=403)
    assert "someone other than who did 'submit_fix'" in body["detail"]
    assert "pass" not in staff.as_("inspecting_tech").get(f"/api/v1/workorders/{order['id']}").json()["available_events"]
    assert staff.fire("inspector", order["id"], "pass")["state"] == "closed_out"


def test_a_complaint_is_answered_and_followed_up(staff):
    order = staff.new_order("nurse", "complaint", title="食堂饭菜偏凉", fields={"channel": "hotline"})
    staff.fire("nurse", order["id"], "accept", expect=403)
    staff.fire("dispatcher", order["id"], "accept")
    staff.fire("dispatcher", order["id"], "assign", assignee="tech")
    staff.fire("tech", order["id"], "start")
    staff.fire("tech", order["id"], "reply", fields={"reply": "已要求食堂加装保温设备"})
    order = staff.fire("dispatcher", order["id"], "reopen", fields={"followup_answer": "仍不满意"})
    assert order["state"] == "reopened"
    staff.fire("dispatcher", order["id"], "assign", assignee="tech")
    staff.fire("tech", order["id"], "start")
    staff.fire("tech", order["id"], "reply")
    order = staff.fire("dispatcher", order["id"], "confirm", fields={"followup_answer": "满意"})
    assert order["state"] == "closed"


def test_processes_are_listed_with_states_events_and_diagram(staff):
    client = staff.as_("nurse")
    listed = client.get("/api/v1/processes").json()
    assert sorted(p["key"] for p in listed) == ["complaint", "hazard", "maintenance", "procurement", "repair"]
    repair = client.get("/api/v1/processes/repair").json()
    assert repair["version"] == 1 and "key: repair" in repair["yaml"]
    assert [s["name"] for s in repair["states"]][:3] == ["reported", "assigned", "accepted"]
    assert {"assign", "reassign", "accept", "start", "hold", "resume", "resolve", "confirm", "reopen", "claim", "decline", "withdraw", "cancel"} == {e["name"] for e in repair["events"]}
    assert "stateDiagram-v2" in repair["diagram"]
    assert client.get("/api/v1/processes/teleport").status_code == 404


def yaml_post(api, user, text):
    return api.as_(user).post("/api/v1/processes", content=text.encode(), headers={"Content-Type": "application/yaml"})


def test_publishing_a_changed_definition_creates_a_version_and_running_orders_keep_theirs(staff):
    old = staff.new_order("nurse", title="旧版本工单")
    text = (DEFINITIONS / "repair.yaml").read_text(encoding="utf-8")
    changed = text.replace("title: {zh: 报修, en: Repair}", "title: {zh: 设备报修, en: Repairs}")
    assert yaml_post(staff, "nurse", changed).status_code == 403
    response = yaml_post(staff, "designer", changed)
    assert response.status_code == 201, response.text
    assert response.json()["version"] == 2 and response.json()["title"]["zh"] == "设备报修"
    assert yaml_post(staff, "designer", changed).json()["created"] is False  # unchanged text: no new version
    new = staff.new_order("nurse", title="新版本工单")
    assert (old["definition_version"], new["definition_version"]) == (1, 2)
    assert staff.as_("nurse").get(f"/api/v1/workorders/{old['id']}").json()["definition_version"] == 1
    assert staff.as_("nurse").get("/api/v1/processes/repair?version=1").json()["title"]["zh"] == "报修"


def test_a_version_that_drops_a_state_leaves_running_orders_working(staff):
    order = staff.new_order("nurse")
    staff.fire("dispatcher", order["id"], "assign", assignee="tech")
    text = (DEFINITIONS / "repair.yaml").read_text(encoding="utf-8")
    simpler = text.replace("    from: [reported, assigned, accepted]\n    to: cancelled", "    from: [reported]\n    to: cancelled")
    assert yaml_post(staff, "designer", simpler).status_code == 201
    staff.fire("tech", order["id"], "accept")
    assert staff.fire("tech", order["id"], "start")["definition_version"] == 1


def test_a_definition_with_several_errors_is_422_with_every_line(staff):
    text = (DEFINITIONS / "repair.yaml").read_text(encoding="utf-8")
    broken = (text.replace("    to: accepted\n    roles: [assignee]", "    to: acepted\n    roles: [asignee]")
              .replace("      urgent: {within: 15m, calendar: 24x7}", "      urgent: {within: 15m, calendar: moon}"))
    response = yaml_post(staff, "designer", broken)
    assert response.status_code == 422
    errors = response.json()["errors"]
    lines = text.splitlines()
    expected_lines = {
        "unknown state 'acepted'": 1 + next(i for i, line in enumerate(lines) if "to: accepted" in line),
        "unknown role 'asignee'": 2 + next(i for i, line in enumerate(lines) if "to: accepted" in line),
        "unknown calendar 'moon'": 1 + next(i for i, line in enumerate(lines) if "urgent: {within: 15m" in line),
    }
    for message, line in expected_lines.items():
        [error] = [e for e in errors if e["message"].startswith(message)]
        assert error["line"] == line and error["column"] > 1, error
    assert staff.as_("nurse").get("/api/v1/processes/repair").json()["version"] == 1


def test_a_non_utf8_or_empty_body_is_a_clear_422(staff):
    response = staff.as_("designer").post("/api/v1/processes", content=b"\xff\xfe", headers={"Content-Type": "application/yaml"})
    assert response.status_code == 422
    assert yaml_post(staff, "designer", "").status_code == 422
    assert yaml_post(staff, "designer", "- just\n- a list\n").status_code == 422
