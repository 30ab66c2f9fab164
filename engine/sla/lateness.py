"""What "late" means, once: for one timer in Python, and the same rule as SQL for lists and figures.

A supervisor's overdue list, the red badge on a card, the ledger's "overdue"
column, the cockpit's count and the sweeper that marks timers breached must
never disagree about a work order, so each of them asks this module.

- A timer is *late* at `now` when it has been marked breached, or it is running
  and its due time has come (`due_at <= now`: the sweeper marks it breached at
  that very moment), or it is paused and was already past due when it paused
  (a pause stops the clock: a timer paused before its due time is not late
  however long the pause lasts).
- A work order is *overdue* when it is open and one of its live (running or
  paused) timers is late.
- A work order *went late* at the earliest due time among its late timers; the
  overdue and escalated lists show the oldest breach first.
"""
from datetime import datetime

from sqlalchemy import and_, func, or_
from sqlmodel import select

from engine.storage.models import SlaTimer, WorkOrder

LIVE = ("running", "paused")
ENDED = ("met", "breached")  # a timer that stopped: on time or not


def past_due(due_at: datetime, now: datetime) -> bool:
    """The due time has come: the one comparison every rule below is made of."""
    return due_at <= now


def timer_is_late(timer: SlaTimer, now: datetime) -> bool:
    if timer.breached or timer.status == "breached":
        return True
    if timer.status == "running":
        return past_due(timer.due_at, now)
    if timer.status == "paused":
        return timer.paused_at is not None and past_due(timer.due_at, timer.paused_at)
    return False


def timer_late_clause(now: datetime):
    """`timer_is_late` as a condition on sla_timers."""
    return or_(
        SlaTimer.breached == True,  # noqa: E712
        SlaTimer.status == "breached",
        and_(SlaTimer.status == "running", SlaTimer.due_at <= now),
        and_(SlaTimer.status == "paused", SlaTimer.due_at <= SlaTimer.paused_at),
    )


def live_late_clause(now: datetime):
    """A live timer that is late: what makes its work order overdue."""
    return and_(SlaTimer.status.in_(LIVE), timer_late_clause(now))


def order_is_overdue(order: WorkOrder, timers: list[SlaTimer], now: datetime) -> bool:
    return not order.closed and any(t.status in LIVE and timer_is_late(t, now) for t in timers)


def order_overdue_clause(now: datetime):
    """`order_is_overdue` as a condition on work_orders (an indexed EXISTS on its timers)."""
    late = select(SlaTimer.id).where(SlaTimer.work_order_id == WorkOrder.id, live_late_clause(now))
    return and_(WorkOrder.closed == False, late.exists())  # noqa: E712


def went_late_at(now: datetime, *, live_only: bool):
    """When the work order first went late: the earliest due time among its late timers, as a
    correlated subquery to order by (NULL for one that never did). With `live_only`, only timers
    still running or paused count (the overdue list); otherwise a deadline missed by a timer that
    has stopped since is remembered too (the escalated list)."""
    late = live_late_clause(now) if live_only else timer_late_clause(now)
    return select(func.min(SlaTimer.due_at)).where(SlaTimer.work_order_id == WorkOrder.id, late).scalar_subquery()
