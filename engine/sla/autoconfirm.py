"""Silence closes the loop, after a declared wait: a requester who never answers is taken as satisfied.

How long, and on which calendar, each definition says in `feedback.auto_confirm`.
The wait is a timer row (AutoConfirmTimer): started when a work order enters its
feedback state, on the newest calendars version, and cancelled when it leaves,
so an order that was reopened and resolved again waits afresh. The sweep reads
only the rows whose time has come, through the same kind of `next_check_at`
index as the SLA sweep (engine/sla/rows.py): it never scans the open work orders.
A confirmation by silence is a Feedback row with `auto` set and the order is
marked `auto_confirmed`: the satisfaction rate counts real ratings only. The
rows live apart from the SLA timers, so no on-time, overdue or escalated figure
can count them.

Exactly once, however many sweepers run: each confirmation is one transaction
that first claims the timer row (FOR UPDATE SKIP LOCKED on PostgreSQL, BEGIN
IMMEDIATE on SQLite) and the work order, finds the timer still running, marks
it confirmed and fires the ordinary optimistic-locked transition. A sweeper that
loses the race finds the row held or no longer due and moves on; a confirmed
order has left its feedback state, so a later sweep has nothing to confirm.
"""
import logging
from datetime import datetime

from sqlalchemy import bindparam, func
from sqlmodel import Session, select

from engine.errors import HouqinError
from engine.published import definitions
from engine.sla import calendar, rows
from engine.storage.models import AutoConfirmTimer, History, WorkOrder
from engine.storage.unit_of_work import reading, unit_of_work
from workflows.schema import ProcessDefinition

log = logging.getLogger(__name__)

NAME = "auto_confirm"  # how recompute and the history name these timers
_ALL = select(AutoConfirmTimer).where(AutoConfirmTimer.work_order_id == bindparam("order_id"))


def on_enter(session: Session, order: WorkOrder, definition: ProcessDefinition, *, now: datetime,
             left: str | None = None, started_at: datetime | None = None) -> None:
    """Start the wait when `order` has just entered its feedback state; cancel it when it has
    left it (`left`: the state it came from, which spares every other transition a query)."""
    spec = definition.feedback
    if spec is None or spec.auto_confirm is None or (left is not None and spec.state not in (order.state, left)):
        return
    waiting = order.state == spec.state
    with reading(session, AutoConfirmTimer):  # all its waits, one per round of rework: the running one and the cycles
        timers = session.exec(_ALL, params={"order_id": order.id}).all()
    running = next((timer for timer in timers if timer.status == "running"), None)
    if running is not None and not waiting:
        running.status, running.stopped_at, running.next_check_at = "cancelled", now, None
        session.add(running)
    elif running is None and waiting:
        wait = spec.auto_confirm
        timer = AutoConfirmTimer(
            work_order_id=order.id, cycle=max((timer.cycle for timer in timers), default=0) + 1, calendar=wait.calendar,
            calendar_version=calendar.newest(session), wait_minutes=wait.after.minutes, wait_days=wait.after.days,
            started_at=started_at or now, due_at=now,
        )
        recomputed(session, timer)
        session.add(timer)


def recomputed(session: Session, timer: AutoConfirmTimer) -> None:
    """The due time from the start, on the timer's calendars version."""
    timer.due_at = calendar.for_timer(session, timer).add(timer.started_at, minutes=timer.wait_minutes,
                                                         working_days=timer.wait_days)
    timer.next_check_at = timer.due_at if timer.status == "running" else None


def confirm_silent(session: Session, now: datetime) -> list[WorkOrder]:
    """Close every work order whose requester stayed silent past the declared wait, each in its own unit of work."""
    return rows.sweep(session, AutoConfirmTimer, now, _confirm)


def _confirm(session: Session, timer_id: int, now: datetime) -> list[WorkOrder]:
    try:
        with unit_of_work(session):
            confirmed = _claim_and_confirm(session, timer_id, now)
    except HouqinError as exc:  # the order moved on without cancelling its wait: stop watching it
        log.info("auto-confirmation of work order %s skipped: %s", timer_id, exc.message)
        with unit_of_work(session):
            _give_up(session, timer_id, now)
        return []
    except Exception:  # noqa: BLE001 - one broken work order must not stop the others
        log.exception("auto-confirmation of timer %s failed; the next sweep tries again", timer_id)
        return []
    if confirmed is None:
        return []
    session.refresh(confirmed)
    session.expunge(confirmed)  # the next row's transaction must not expire what the caller reads
    return [confirmed]


def _claim_and_confirm(session: Session, timer_id: int, now: datetime) -> WorkOrder | None:
    """Claim the wait and its order, then confirm as the system; None when there is nothing to do."""
    from engine.orders import feedback  # feedback fires transitions, which start and cancel these timers

    rows.begin(session)
    session.expire_all()
    timer = rows.claim(session, select(AutoConfirmTimer).where(AutoConfirmTimer.id == timer_id,
                                                                 AutoConfirmTimer.next_check_at <= now))
    order = rows.claim(session, select(WorkOrder).where(WorkOrder.id == timer.work_order_id)) if timer else None
    if order is None:  # confirmed meanwhile, or another sweeper holds it
        return None
    if timer.status != "running":
        timer.next_check_at = None
        session.add(timer)
        return None
    timer.status, timer.stopped_at, timer.next_check_at = "confirmed", now, None
    session.add(timer)
    return feedback.give(session, None, order.id, satisfied=True, auto=True, now=now)


def _give_up(session: Session, timer_id: int, now: datetime) -> None:
    timer = session.get(AutoConfirmTimer, timer_id)
    if timer is not None and timer.status == "running":
        timer.status, timer.stopped_at, timer.next_check_at = "cancelled", now, None
        session.add(timer)


def backfill(session: Session, now: datetime) -> int:
    """Start the wait of open work orders in a feedback state that have none running (work orders
    resolved before these timers existed), from when they entered it. Run at start-up; does not commit."""
    pairs = session.exec(select(WorkOrder.process, WorkOrder.definition_version)
                         .where(WorkOrder.closed == False).distinct()).all()  # noqa: E712
    started = 0
    for process, version in pairs:
        definition = definitions.compiled(session, process, version).definition
        spec = definition.feedback
        if spec is None or spec.auto_confirm is None:
            continue
        entered = (select(func.max(History.at))
                   .where(History.work_order_id == WorkOrder.id, History.to_state == spec.state,
                          History.kind.in_(("create", "transition"))).scalar_subquery())
        running = select(AutoConfirmTimer.id).where(AutoConfirmTimer.work_order_id == WorkOrder.id,
                                                     AutoConfirmTimer.status == "running")
        rows = session.exec(select(WorkOrder, entered).where(
            WorkOrder.process == process, WorkOrder.definition_version == version, WorkOrder.state == spec.state,
            WorkOrder.closed == False, ~running.exists())).all()  # noqa: E712
        for order, since in rows:
            on_enter(session, order, definition, now=now, left=order.state, started_at=since or now)
            started += 1
    return started
