"""One meaning of "late": the work order's timers, the overdue list, the cockpit and the page agree.

A repair's resolution is due three working days after work starts (Monday 09:00 → Thursday 09:00).
"""
import pytest
from sqlmodel import select

from engine.sla import lateness
from engine.storage.models import SlaTimer
from page_support import visitor
from sla_support import at, sweep, timers_named


@pytest.fixture
def staff(api):
    api.user("nurse", "requester", department="心内科")
    api.user("dispatcher", "dispatcher", department="后勤保障部")
    api.user("supervisor", "supervisor", department="后勤保障部")
    api.user("tech", "technician", department="后勤保障部")
    return api


def started(api, title: str) -> dict:
    order = api.new_order("nurse", title=title)
    api.fire("dispatcher", order["id"], "assign", assignee="tech")
    api.fire("tech", order["id"], "accept")
    return api.fire("tech", order["id"], "start")


def views(api, app, order_id: int) -> dict:
    """Whether each reader calls the work order late."""
    supervisor = api.as_("supervisor")
    shown = supervisor.get(f"/api/v1/workorders/{order_id}").json()
    overdue = [o["id"] for o in supervisor.get("/api/v1/workorders?overdue=true").json()["items"]]
    page = visitor(app, "supervisor").get(f"/orders/{order_id}").text
    return {
        "timer": timers_named(shown, "resolution")[-1]["breached"],
        "list": order_id in overdue,
        "cockpit": supervisor.get("/api/v1/dashboard").json()["overdue"] == 1,
        "page": 'class="badge late"' in page,
    }


def test_a_repair_on_hold_since_before_its_due_time_is_late_for_nobody(app, staff, test_clock):
    test_clock.set(at("2026-10-12T09:00:00"))
    order = started(staff, "等配件")
    test_clock.set(at("2026-10-13T10:00:00"))
    staff.fire("tech", order["id"], "hold", fields={"hold_reason": "waiting_parts"})
    test_clock.set(at("2026-10-19T10:00:00"))  # past the due time it had when put on hold: the clock is stopped
    sweep(staff, "supervisor")
    assert views(staff, app, order["id"]) == {"timer": False, "list": False, "cockpit": False, "page": False}


def test_a_running_repair_is_late_for_everybody_from_its_due_time_on(app, staff, test_clock):
    test_clock.set(at("2026-10-12T09:00:00"))
    order = started(staff, "漏水")
    test_clock.set(at("2026-10-15T08:59:00"))
    assert views(staff, app, order["id"]) == {"timer": False, "list": False, "cockpit": False, "page": False}
    test_clock.set(at("2026-10-15T09:00:00"))
    assert views(staff, app, order["id"]) == {"timer": True, "list": True, "cockpit": True, "page": True}
    sweep(staff, "supervisor")  # the sweeper agrees: it marks the timer breached at the due time
    assert views(staff, app, order["id"]) == {"timer": True, "list": True, "cockpit": True, "page": True}


def test_the_sql_rule_and_the_python_rule_agree_on_every_timer(app, staff, session, test_clock):
    test_clock.set(at("2026-10-12T09:00:00"))
    held, _, finished = started(staff, "暂停"), started(staff, "进行"), started(staff, "完成")
    test_clock.set(at("2026-10-14T10:00:00"))
    staff.fire("tech", held["id"], "hold", fields={"hold_reason": "waiting_parts"})
    staff.fire("tech", finished["id"], "resolve", fields={"labour_minutes": 30})
    for moment in ("2026-10-14T10:00:00", "2026-10-15T09:00:00", "2026-10-16T12:00:00"):
        now = at(moment)
        timers = session.exec(select(SlaTimer).execution_options(populate_existing=True)).all()
        late_in_sql = set(session.exec(select(SlaTimer.id).where(lateness.timer_late_clause(now))).all())
        assert {t.id for t in timers if lateness.timer_is_late(t, now)} == late_in_sql, moment
