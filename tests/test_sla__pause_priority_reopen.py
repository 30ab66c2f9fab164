"""Due times move when work is put on hold, when the priority changes, and when a repair is reopened.

Every expected time is worked out by hand on the `workday` calendar (08:00-17:30,
Monday-Friday) or the `24x7` calendar; the week of Monday 12 October 2026 has no holiday.
"""

import pytest

from sla_support import at, due, instant, sweep, timers_named


@pytest.fixture
def staff(api):
    api.user("nurse", "requester", department="心内科")
    api.user("dispatcher", "dispatcher", department="后勤保障部")
    api.user("supervisor", "supervisor", department="后勤保障部")
    api.user("tech", "technician", department="后勤保障部")
    return api


def started_repair(api, clock, priority="normal"):
    order = api.new_order("nurse", priority=priority)
    api.fire("dispatcher", order["id"], "assign", assignee="tech")
    api.fire("tech", order["id"], "accept")
    return api.fire("tech", order["id"], "start")


def test_a_hold_over_night_pushes_the_resolution_deadline_by_the_working_time_on_hold(staff, test_clock):
    test_clock.set(at("2026-10-12T09:00:00"))
    order = started_repair(staff, test_clock)
    assert due(order, "resolution") == at("2026-10-15T09:00:00")  # three working days, same time of day
    test_clock.set(at("2026-10-12T16:30:00"))
    order = staff.fire("tech", order["id"], "hold", fields={"hold_reason": "waiting_parts"})
    paused = timers_named(order, "resolution")[-1]
    assert paused["state"] == "paused"
    test_clock.set(at("2026-10-13T09:00:00"))
    order = staff.fire("tech", order["id"], "resume")
    # On hold 16:30-17:30 Monday and 08:00-09:00 Tuesday: two working hours; the night does not count.
    assert due(order, "resolution") == at("2026-10-15T11:00:00")
    assert timers_named(order, "resolution")[-1]["state"] == "running"


def test_nothing_escalates_while_the_work_is_on_hold(staff, test_clock):
    test_clock.set(at("2026-10-12T09:00:00"))
    order = started_repair(staff, test_clock, priority="urgent")  # resolution 4 h around the clock: due 13:00
    test_clock.set(at("2026-10-12T10:00:00"))
    staff.fire("tech", order["id"], "hold")
    test_clock.set(at("2026-10-12T20:00:00"))  # seven hours past the original deadline
    assert [f for f in sweep(staff, "supervisor") if f["timer"] == "resolution"] == []
    test_clock.set(at("2026-10-13T08:00:00"))
    order = staff.fire("tech", order["id"], "resume")
    # 22 hours on hold, 3 hours of work left: due 11:00 the next morning.
    assert due(order, "resolution") == at("2026-10-13T11:00:00")
    assert timers_named(order, "resolution")[-1]["breached"] is False


def test_raising_the_priority_recomputes_the_deadline_from_the_report(staff, test_clock):
    test_clock.set(at("2026-10-12T09:00:00"))
    order = staff.new_order("nurse", priority="normal")
    assert due(order, "response") == at("2026-10-12T11:00:00")
    test_clock.set(at("2026-10-12T09:05:00"))
    response = staff.as_("dispatcher").patch(f"/api/v1/workorders/{order['id']}", json={"priority": "urgent"})
    assert response.status_code == 200, response.text
    order = response.json()
    assert due(order, "response") == at("2026-10-12T09:15:00")  # 15 minutes from 09:00, not from 09:05
    assert due(order, "resolution") == at("2026-10-12T13:00:00")


def test_lowering_the_priority_gives_a_working_day_from_the_report(staff, test_clock):
    test_clock.set(at("2026-10-16T15:00:00"))  # Friday afternoon
    order = staff.new_order("nurse", priority="high")
    assert due(order, "response") == at("2026-10-16T15:30:00")
    response = staff.as_("dispatcher").patch(f"/api/v1/workorders/{order['id']}", json={"priority": "low"})
    assert due(response.json(), "response") == at("2026-10-19T15:00:00")  # next working day, same time


def test_an_unsatisfied_requester_restarts_the_resolution_clock_as_a_second_cycle(staff, test_clock):
    test_clock.set(at("2026-10-12T09:00:00"))
    order = started_repair(staff, test_clock)
    test_clock.set(at("2026-10-12T11:00:00"))
    staff.fire("tech", order["id"], "resolve", fields={"labour_minutes": 90})
    test_clock.set(at("2026-10-13T14:00:00"))
    response = staff.as_("nurse").post(f"/api/v1/workorders/{order['id']}/feedback",
                                       json={"satisfied": False, "comment": "还在漏水"})
    assert response.status_code == 200, response.text
    first, second = timers_named(response.json(), "resolution")
    assert (first["cycle"], first["state"], first["working_seconds"]) == (1, "met", 2 * 3600)
    assert (second["cycle"], second["state"]) == (2, "running")
    assert instant(second["started_at"]) == at("2026-10-13T14:00:00")
    assert due(response.json(), "resolution") == at("2026-10-16T14:00:00")  # three working days from the reopening
