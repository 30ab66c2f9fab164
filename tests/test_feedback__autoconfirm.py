"""A requester who never answers: the repair closes by itself after 3 working days, marked as such."""
from datetime import datetime

import pytest
from sqlalchemy import delete, event as db_event
from sqlmodel import Session, select

from engine.sla import autoconfirm
from engine.storage import db
from engine.storage.models import AutoConfirmTimer, Feedback, WorkOrder

T = datetime.fromisoformat


@pytest.fixture
def people(api):
    api.user("nurse", "requester", department="心内科")
    api.user("dispatcher", "dispatcher", department="后勤保障部")
    api.user("tech", "technician", department="后勤保障部")
    api.user("boss", "supervisor", department="后勤保障部")
    return api


def resolved_repair(api, title="走廊灯不亮") -> dict:
    order = api.new_order("nurse", title=title)
    api.fire("dispatcher", order["id"], "assign", assignee="tech")
    api.fire("tech", order["id"], "accept")
    api.fire("tech", order["id"], "start")
    return api.fire("tech", order["id"], "resolve", fields={"labour_minutes": 15})


def confirm(db_url, now):
    with Session(db.get_engine(db_url), expire_on_commit=False) as session:
        return [order.number for order in autoconfirm.confirm_silent(session, T(now))]


def test_a_silent_requester_is_taken_as_satisfied_after_three_working_days(people, db_url, test_clock):
    test_clock.set(T("2026-10-16T10:00:00+08:00"))  # Friday
    order = resolved_repair(people)
    # Friday 10:00 + 3 working days, over the weekend = Wednesday 10:00.
    assert confirm(db_url, "2026-10-20T17:00:00+08:00") == []
    assert confirm(db_url, "2026-10-21T09:59:00+08:00") == []
    assert confirm(db_url, "2026-10-21T10:00:00+08:00") == [order["number"]]
    assert confirm(db_url, "2026-10-22T10:00:00+08:00") == []  # once only

    order = people.as_("nurse").get(f"/api/v1/workorders/{order['id']}").json()
    assert order["state"] == "closed" and order["auto_confirmed"] is True
    [closing] = [h for h in order["history"] if h["event"] == "confirm"]
    assert closing["actor"] is None and T(closing["at"]) == T("2026-10-21T10:00:00+08:00")
    [verdict] = [h for h in order["history"] if h["kind"] == "feedback"]
    assert verdict["data"] == {"satisfied": True, "rating": None, "auto": True}


def test_the_wait_starts_again_when_a_reopened_repair_is_resolved_again(people, db_url, test_clock):
    test_clock.set(T("2026-10-12T10:00:00+08:00"))  # Monday
    order = resolved_repair(people)
    test_clock.set(T("2026-10-14T10:00:00+08:00"))
    people.as_("nurse").post(f"/api/v1/workorders/{order['id']}/feedback", json={"satisfied": False, "comment": "没修好"})
    for event in ("accept", "start"):
        people.fire("tech", order["id"], event)
    people.fire("tech", order["id"], "resolve", fields={"labour_minutes": 10})  # Wednesday 10:00 again
    # Three working days from the first resolution (Thursday 10:00) are not enough; from the second they are.
    assert confirm(db_url, "2026-10-15T10:00:00+08:00") == []
    assert confirm(db_url, "2026-10-19T09:00:00+08:00") == []
    assert confirm(db_url, "2026-10-19T10:00:00+08:00") == [order["number"]]


def test_auto_confirmations_are_counted_apart_from_real_ratings(people, db_url, session, test_clock):
    silent = resolved_repair(people, "门锁损坏")
    rated = resolved_repair(people, "插座没电")
    people.as_("nurse").post(f"/api/v1/workorders/{rated['id']}/feedback", json={"satisfied": True, "rating": 4})
    assert confirm(db_url, "2026-10-16T09:00:00+08:00") == [silent["number"]]

    verdicts = session.exec(select(Feedback.work_order_id, Feedback.auto).order_by(Feedback.id)).all()
    assert verdicts == [(rated["id"], False), (silent["id"], True)]
    dashboard = people.as_("boss").get("/api/v1/dashboard").json()
    assert dashboard["ratings"] == 1 and dashboard["satisfaction_rate"] == 1.0
    assert session.exec(select(WorkOrder.auto_confirmed).where(WorkOrder.id == silent["id"])).one() is True


def test_processes_without_auto_confirm_wait_for_ever(people, db_url, test_clock):
    people.user("handler", "technician", department="后勤保障部")
    order = people.new_order("nurse", "complaint", title="食堂饭菜偏凉", fields={"channel": "hotline"})
    people.fire("dispatcher", order["id"], "accept")
    people.fire("dispatcher", order["id"], "assign", assignee="handler")
    people.fire("handler", order["id"], "start")
    people.fire("handler", order["id"], "reply", fields={"reply": "已加装保温设备"})
    assert confirm(db_url, "2026-12-31T10:00:00+08:00") == []


def test_a_sweep_reads_only_the_waits_that_are_due_however_many_orders_are_open(people, db_url, test_clock):
    test_clock.set(T("2026-10-12T09:00:00+08:00"))  # Monday: due Thursday 09:00
    due = [resolved_repair(people, f"门锁损坏 {n}")["id"] for n in range(2)]
    test_clock.set(T("2026-10-14T09:00:00+08:00"))  # Wednesday: due next Monday
    waiting = [resolved_repair(people, f"插座没电 {n}")["id"] for n in range(8)]
    open_ = [people.new_order("nurse", title=f"走廊灯不亮 {n}")["id"] for n in range(4)]

    engine = db.get_engine(db_url)
    loaded, statements = [], []

    def on_load(target, _context, *_):
        loaded.append((type(target).__name__, target.id if isinstance(target, WorkOrder) else target.work_order_id))

    def on_statement(_conn, _cursor, statement, *_):
        statements.append(" ".join(statement.split()))

    listeners = [(AutoConfirmTimer, "load", on_load), (AutoConfirmTimer, "refresh", on_load),
                 (WorkOrder, "load", on_load), (WorkOrder, "refresh", on_load),
                 (engine, "before_cursor_execute", on_statement)]
    for target, name, listener in listeners:
        db_event.listen(target, name, listener)
    try:
        with Session(engine, expire_on_commit=False) as session:
            confirmed = [order.id for order in autoconfirm.confirm_silent(session, T("2026-10-15T09:00:00+08:00"))]
    finally:
        for target, name, listener in listeners:
            db_event.remove(target, name, listener)

    assert sorted(confirmed) == sorted(due)
    assert {order_id for _, order_id in loaded} == set(due)  # no other wait, no other work order was read
    reads = [s for s in statements if s.startswith("SELECT") and "FROM work_orders" in s]
    assert reads and all("WHERE work_orders.id =" in s for s in reads)  # by key, never a scan of open work
    pages = [s for s in statements if "FROM auto_confirm_timers" in s and "auto_confirm_timers.id =" not in s
             and "work_order_id =" not in s]
    assert pages and all("next_check_at <=" in s and "ORDER BY auto_confirm_timers.next_check_at" in s
                         for s in pages)  # only what is due, in the index's order
    assert len(waiting) + len(open_) == 12


def test_the_wait_for_feedback_is_no_sla_timer(people, db_url, test_clock):
    order = resolved_repair(people)
    test_clock.set(T("2026-10-20T09:00:00+08:00"))  # the wait is long over, and nobody has swept yet
    shown = people.as_("boss").get(f"/api/v1/workorders/{order['id']}").json()
    assert {timer["name"] for timer in shown["sla"]} == {"response", "resolution"}
    assert people.as_("boss").get("/api/v1/workorders?overdue=true").json()["total"] == 0
    assert people.as_("boss").get("/api/v1/dashboard").json()["overdue"] == 0


def test_work_resolved_before_the_wait_was_a_timer_gets_one_at_start_up_from_when_it_was_resolved(
        people, db_url, session, test_clock):
    test_clock.set(T("2026-10-16T10:00:00+08:00"))  # Friday
    order = resolved_repair(people)
    session.exec(delete(AutoConfirmTimer))  # as a database upgraded from before these timers
    session.commit()
    test_clock.set(T("2026-10-19T10:00:00+08:00"))
    assert autoconfirm.backfill(session, test_clock.now()) == 1
    session.commit()
    assert autoconfirm.backfill(session, test_clock.now()) == 0  # once
    assert confirm(db_url, "2026-10-21T09:59:00+08:00") == []
    assert confirm(db_url, "2026-10-21T10:00:00+08:00") == [order["number"]]  # three working days from Friday
