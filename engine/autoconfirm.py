"""Silence closes the loop, after a declared wait: a requester who never answers is taken as satisfied.

How long, and on which calendar, each definition says in `feedback.auto_confirm`.
The wait runs from the moment the work order last entered its feedback state, so
an order that was reopened and resolved again waits afresh. A confirmation by
silence is a Feedback row with `auto` set and the order is marked
`auto_confirmed`: the satisfaction rate counts real ratings only.

Safe to run from several workers at once: each confirmation is an ordinary
optimistic-locked transition, and a worker that loses the race gets a Conflict
for that order and moves on. Calling it again confirms nothing twice, because a
confirmed order has left its feedback state.
"""
import logging
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, select

from engine import definitions, feedback
from engine.calendar import get_calendar
from engine.errors import HouqinError
from engine.models import History, WorkOrder
from engine.unit_of_work import unit_of_work
from workflows.schema import FeedbackSpec

log = logging.getLogger(__name__)


def confirm_silent(session: Session, now: datetime) -> list[WorkOrder]:
    """Close, as the system, every work order whose requester stayed silent past the declared wait.

    Each work order is its own unit of work: one that fails leaves the others closed.
    """
    confirmed = []
    for process, version, spec in _auto_confirming(session):
        for order_id, entered in _waiting(session, process, version, spec, now):
            wait = spec.auto_confirm
            if now < get_calendar(wait.calendar).add(entered, minutes=wait.after.minutes, working_days=wait.after.days):
                continue
            try:
                with unit_of_work(session):
                    order = feedback.give(session, None, order_id, satisfied=True, auto=True, now=now)
                confirmed.append(order)
            except HouqinError as exc:  # another worker got there first, or the order moved on
                log.info("auto-confirmation of work order %s skipped: %s", order_id, exc.message)
    return confirmed


def _auto_confirming(session: Session) -> list[tuple[str, int, FeedbackSpec]]:
    """(process, version, feedback spec) for each version with open work orders that auto-confirms."""
    pairs = session.exec(
        select(WorkOrder.process, WorkOrder.definition_version).where(WorkOrder.closed == False).distinct()  # noqa: E712
    ).all()
    found = []
    for process, version in pairs:
        spec = definitions.compiled(session, process, version).definition.feedback
        if spec is not None and spec.auto_confirm is not None:
            found.append((process, version, spec))
    return found


def _waiting(session: Session, process: str, version: int, spec: FeedbackSpec, now: datetime):
    """(order id, when it entered the feedback state) for orders that may have waited long enough."""
    entered = (
        select(func.max(History.at))
        .where(History.work_order_id == WorkOrder.id, History.to_state == spec.state,
               History.kind.in_(("create", "transition")))
        .scalar_subquery()
    )
    # N working days never end sooner than N-1 whole days after they start (starting at an opening,
    # they end at the close of the N-th day), so older entries are the only candidates.
    after = spec.auto_confirm.after
    earliest = now - timedelta(days=max(after.days - 1, 0), minutes=after.minutes)
    rows = session.exec(
        select(WorkOrder.id, entered.label("entered"))
        .where(WorkOrder.process == process, WorkOrder.definition_version == version,
               WorkOrder.state == spec.state, WorkOrder.closed == False, entered <= earliest)  # noqa: E712
        .order_by(WorkOrder.id)
    ).all()
    return list(rows)
