"""The repair response ladder as the people on it see it.

definitions/repair.yaml: an urgent repair must be accepted within 15 minutes around
the clock; 80% (12 minutes) warns the assignee and the dispatchers, the due time
escalates to level 1 (dispatchers, assignee), due + 30 min to level 2 (supervisors,
the department's head, priority raised), due + 2 h to level 3 (leaders).
"""
import pytest

from sla_support import at, sweep


@pytest.fixture
def staff(api, test_clock):
    api.user("nurse", "requester", department="心内科")
    api.user("head", "dept_head", department="心内科")
    api.user("other_head", "dept_head", department="急诊科")
    api.user("dispatcher", "dispatcher", department="后勤保障部")
    api.user("dispatcher2", "dispatcher", department="后勤保障部")
    api.user("supervisor", "supervisor", department="后勤保障部")
    api.user("leader", "leader", department="院办")
    api.user("tech", "technician", department="后勤保障部")
    test_clock.set(at("2026-10-12T09:00:00"))
    return api


def unread(api, username: str, kind: str | None = None) -> list[dict]:
    notes = api.as_(username).get("/api/v1/notifications").json()
    return [note for note in notes if kind is None or note["kind"] == kind]


def urgent_repair(api) -> dict:
    order = api.new_order("nurse", priority="urgent", title="手术室停电", location="外科楼3楼")
    api.fire("dispatcher", order["id"], "assign", assignee="tech")
    return order


def test_an_urgent_repair_not_accepted_in_15_minutes_goes_to_the_dispatchers(staff, test_clock):
    order = urgent_repair(staff)
    test_clock.set(at("2026-10-12T09:11:00"))
    assert sweep(staff, "supervisor") == []
    test_clock.set(at("2026-10-12T09:12:00"))
    [warning] = sweep(staff, "supervisor")
    assert (warning["level"], warning["timer"]) == (0, "response")
    assert unread(staff, "dispatcher", "warning") and unread(staff, "tech", "warning")
    test_clock.set(at("2026-10-12T09:15:00"))
    [fired] = sweep(staff, "supervisor")
    assert (fired["number"], fired["timer"], fired["level"]) == (order["number"], "response", 1)
    assert sorted(fired["recipients"]) == ["dispatcher", "dispatcher2", "tech"]
    for person in ("dispatcher", "dispatcher2", "tech"):
        [note] = unread(staff, person, "escalation")
        assert note["work_order_id"] == order["id"] and order["number"] in note["title"]
        assert note["body"] == "Response overdue since 10-12 09:15: escalated to level 1"  # one language only
    [chinese] = [n for n in staff.as_("tech").get("/api/v1/notifications", headers={"Accept-Language": "zh"}).json()
                 if n["kind"] == "escalation"]
    assert chinese["body"] == "响应时限已于 10-12 09:15 超时，升级至第 1 级"
    assert unread(staff, "supervisor", "escalation") == []
    shown = staff.as_("supervisor").get(f"/api/v1/workorders/{order['id']}").json()
    assert shown["escalation_level"] == 1
    [response] = [t for t in shown["sla"] if t["name"] == "response"]
    assert response["breached"] is True and response["level"] == 1


def test_thirty_minutes_later_it_reaches_the_supervisors_and_the_department_head(staff, test_clock):
    order = urgent_repair(staff)
    test_clock.set(at("2026-10-12T09:15:00"))
    sweep(staff, "supervisor")
    test_clock.set(at("2026-10-12T09:44:00"))
    assert sweep(staff, "supervisor") == []
    test_clock.set(at("2026-10-12T09:45:00"))
    [fired] = sweep(staff, "supervisor")
    assert fired["level"] == 2 and sorted(fired["recipients"]) == ["head", "supervisor"]  # not the other department's head
    assert unread(staff, "other_head") == []
    shown = staff.as_("supervisor").get(f"/api/v1/workorders/{order['id']}").json()
    assert shown["escalation_level"] == 2 and shown["priority"] == "urgent"  # already the highest
    assert [e["level"] for e in shown["escalations"]] == [0, 1, 2]
    history = [h for h in shown["history"] if h["kind"] == "escalation"]
    assert [(h["data"]["timer"], h["data"]["level"]) for h in history] == [("response", 0), ("response", 1), ("response", 2)]


def test_accepting_in_time_stops_the_ladder(staff, test_clock):
    order = urgent_repair(staff)
    test_clock.set(at("2026-10-12T09:10:00"))
    staff.fire("tech", order["id"], "accept")
    test_clock.set(at("2026-10-12T12:00:00"))
    assert [f for f in sweep(staff, "supervisor") if f["timer"] == "response"] == []
    shown = staff.as_("supervisor").get(f"/api/v1/workorders/{order['id']}").json()
    [response] = [t for t in shown["sla"] if t["name"] == "response"]
    assert response["state"] == "met" and response["working_seconds"] == 600


def test_after_an_hour_without_a_sweep_every_rung_fires_once_in_order(staff, test_clock):
    order = urgent_repair(staff)
    test_clock.set(at("2026-10-12T10:00:00"))  # the sweeper was down since 09:00
    fired = sweep(staff, "supervisor")
    assert [(f["timer"], f["level"]) for f in fired] == [("response", 0), ("response", 1), ("response", 2)]
    assert sweep(staff, "supervisor") == []
    assert len(unread(staff, "dispatcher", "escalation")) == 1
    assert len(unread(staff, "dispatcher", "warning")) == 1
    test_clock.set(at("2026-10-12T11:15:00"))
    [fired] = sweep(staff, "supervisor")
    assert (fired["level"], fired["recipients"]) == (3, ["leader"])
    assert fired["work_order_id"] == order["id"]


def test_level_2_raises_a_normal_repair_to_high_and_its_deadlines_follow(staff, test_clock):
    order = staff.new_order("nurse", priority="normal")  # response due 11:00, resolution Thursday 09:00
    test_clock.set(at("2026-10-12T11:30:00"))
    fired = sweep(staff, "supervisor")
    assert [(f["timer"], f["level"]) for f in fired][:3] == [("response", 0), ("response", 1), ("response", 2)]
    assert fired[2]["actions"] == [{"raise_priority": {"from": "normal", "to": "high"}}]
    shown = staff.as_("supervisor").get(f"/api/v1/workorders/{order['id']}").json()
    assert shown["priority"] == "high"
    due = {t["name"]: t["due_at"] for t in shown["sla"]}
    # High: response 30 min and resolution 8 h around the clock, both from 09:00.
    assert due["response"].startswith("2026-10-12T01:30:00") and due["resolution"].startswith("2026-10-12T09:00:00")
    # The new response deadline (09:30) puts level 3 (due + 2 h) at 11:30: it fires in the same sweep.
    assert (fired[3]["timer"], fired[3]["level"]) == ("response", 3) and len(fired) == 4


def test_only_supervisors_and_admins_may_sweep(staff):
    staff.user("admin", "admin")
    for person in ("nurse", "dispatcher", "tech"):
        assert staff.as_(person).post("/api/v1/sla/sweep").status_code == 403
    assert staff.as_("admin").post("/api/v1/sla/sweep").status_code == 200
