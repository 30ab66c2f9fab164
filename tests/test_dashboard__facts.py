"""The facts the cockpit counts are recorded by the steps themselves, as work orders move through the API: the
labour a technician enters, the feedback a requester was asked for, a deadline missed, a warning fired."""
import pytest

from sla_support import at, sweep


@pytest.fixture
def staff(api, test_clock):
    api.user("nurse", "requester", department="心内科")
    api.user("dispatcher", "dispatcher", department="后勤保障部")
    api.user("tech", "technician", department="后勤保障部")
    api.user("supervisor", "supervisor", department="后勤保障部")
    test_clock.set(at("2026-10-12T09:00:00"))  # a Monday, working hours
    return api


def cockpit(api) -> dict:
    response = api.as_("supervisor").get("/api/v1/dashboard")
    assert response.status_code == 200, response.text
    return response.json()


def urgent_repair(api) -> dict:
    """An urgent repair, assigned at once: the technician has 15 minutes to accept it."""
    order = api.new_order("nurse", priority="urgent", title="手术室停电", location="外科楼3楼")
    api.fire("dispatcher", order["id"], "assign", assignee="tech")
    return order


def repaired(api, order: dict, labour: int) -> dict:
    for event in ("start", "resolve"):
        order = api.fire("tech", order["id"], event, **({"fields": {"labour_minutes": labour}} if event == "resolve" else {}))
    return api.fire("nurse", order["id"], "confirm")


def test_each_visit_records_its_labour_and_the_confirmation_it_asked_for(staff, test_clock):
    first, second = urgent_repair(staff), urgent_repair(staff)
    for order in (first, second):
        staff.fire("tech", order["id"], "accept")
    repaired(staff, first, 45)
    staff.fire("tech", second["id"], "start")
    staff.fire("tech", second["id"], "resolve", fields={"labour_minutes": 20})
    staff.fire("nurse", second["id"], "reopen", comment="还是不亮")  # sent back: a second visit
    staff.fire("tech", second["id"], "accept")
    staff.fire("tech", second["id"], "start")
    staff.fire("tech", second["id"], "resolve", fields={"labour_minutes": 15})

    shown = cockpit(staff)
    assert shown["labour_by_technician"] == [{"technician": "tech", "minutes": 80, "work_orders": 2}]
    assert (shown["reached_feedback"], shown["reopened"], shown["total"]) == (2, 1, 2)


def test_a_deadline_missed_is_still_counted_once_the_work_order_is_closed(staff, test_clock):
    late, on_time = urgent_repair(staff), urgent_repair(staff)
    staff.fire("tech", on_time["id"], "accept")
    test_clock.set(at("2026-10-12T09:40:00"))  # 15 minutes were given; no sweep has looked at it
    staff.fire("tech", late["id"], "accept")
    for order in (late, on_time):
        closed = repaired(staff, order, 30)
    assert closed["closed"] is True

    shown = cockpit(staff)
    assert shown["breached"] == 1
    assert shown["on_time"]["response"] == {"met": 1, "ended": 2, "rate": 0.5, "average_minutes": 20.0}


def test_a_warning_alone_counts_as_escalated_at_some_point(staff, test_clock):
    warned, quiet = urgent_repair(staff), urgent_repair(staff)
    staff.fire("tech", quiet["id"], "accept")
    test_clock.set(at("2026-10-12T09:13:00"))  # past 80% of the 15 minutes: the warning rung
    assert [(fired["number"], fired["level"]) for fired in sweep(staff, "supervisor")] == [(warned["number"], 0)]
    staff.fire("tech", warned["id"], "accept")  # in time after all: no level was ever raised

    shown = cockpit(staff)
    assert (shown["escalated_total"], shown["escalated"], shown["breached"]) == (1, 0, 0)
