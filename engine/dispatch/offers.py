"""An offer's clock: the time a technician has to accept, riding the SLA timers' sweep.

An offer is a row in `sla_timers` of its own kind (name `dispatch:offer`, status
`offered`), with `next_check_at` at its deadline on the team's calendar. The
escalation sweeper (engine.sla.escalation) reads due rows through the same index
and hands an offer row to `lapse` (which fires the process's withdraw event),
under the same claim it takes for an SLA rung (FOR UPDATE SKIP LOCKED on
PostgreSQL, BEGIN IMMEDIATE on SQLite) and in the same transaction, which also
clears `next_check_at`: so an offer lapses exactly once however many sweepers
race, and a sweeper that dies mid-way leaves it due.
Its status is never `running`, so an offer is never counted as an SLA (late
lists, the cockpit).

Any event on the work order settles a pending offer: `accepted` when it is the
accept event, `withdrawn` otherwise (the dispatcher reassigned it, it was
cancelled, declined...).
"""
import logging
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, select

from engine.notify.messages import message
from engine.sla import calendar as calendars
from engine.storage.models import History, SlaTimer, Team, WorkOrder
from workflows.durations import Duration

log = logging.getLogger(__name__)

OFFER = "dispatch:offer"
PENDING = "offered"


def start(session: Session, order: WorkOrder, user_id: int, within: Duration, team: Team, now: datetime) -> SlaTimer:
    version = calendars.newest(session)  # like an SLA timer, the offer keeps the calendars it started on
    calendar = calendars.lookup(session, team.calendar, version)
    due = calendar.add(now, minutes=within.minutes, working_days=within.days)
    previous = session.exec(select(func.max(SlaTimer.cycle)).where(SlaTimer.work_order_id == order.id,
                                                                   SlaTimer.name == OFFER)).one()
    timer = SlaTimer(work_order_id=order.id, name=OFFER, cycle=(previous or 0) + 1, calendar=team.calendar,
                     target_minutes=within.minutes, target_days=within.days, started_at=now, due_at=due,
                     calendar_version=version, status=PENDING, next_check_at=due)
    session.add(timer)
    return timer


def settle(session: Session, order: WorkOrder, now: datetime, *, accepted: bool, timers: list[SlaTimer]) -> None:
    """`timers`: the order's timer rows as the step read them (engine/sla/timers.of_order; none where no offer
    can be waiting)."""
    timer = next((timer for timer in timers if timer.name == OFFER and timer.status == PENDING), None)
    if timer is None:
        return
    timer.status, timer.stopped_at, timer.next_check_at = ("accepted" if accepted else "withdrawn"), now, None
    timer.working_seconds = (now - timer.started_at).total_seconds()
    session.add(timer)


def is_offer(timer: SlaTimer) -> bool:
    return timer.name == OFFER


def lapse(session: Session, order: WorkOrder, timer: SlaTimer, now: datetime) -> None:
    """The offer was not accepted in time: the system declines it for the offered person, and routing
    passes it to the next candidate (or the dispatcher). Called by the sweeper, in its transaction."""
    from engine.orders import workorders
    from engine.published.definitions import compiled
    from engine.errors import Conflict, HouqinError

    was_pending = timer.status == PENDING
    timer.status, timer.stopped_at, timer.next_check_at = "lapsed", now, None
    session.add(timer)
    if not was_pending:
        return
    spec = compiled(session, order.process, order.definition_version).definition.dispatch
    offered = _offered_to(session, order.id)
    if spec is None or spec.withdraw is None or order.assignee_id is None or order.assignee_id != offered:
        return  # somebody else holds it now (the dispatcher, a ladder's reassignment): nothing to take back
    minutes = timer.target_minutes + timer.target_days * 24 * 60
    reason = message("not_accepted_within", minutes=f"{minutes:g}")
    try:
        workorders.fire(session, None, order.id, spec.withdraw, workorders.EventInput(message=reason), now=now)
    except Conflict:
        raise  # the order changed meanwhile: the sweep leaves the offer due and looks again
    except HouqinError as exc:
        log.warning("offer on %s lapsed but could not be declined: %s", order.number, exc.message)


def _offered_to(session: Session, order_id: int) -> int | None:
    """Whom the latest routing offered the work order to."""
    rows = session.exec(select(History.data).where(History.work_order_id == order_id, History.kind == "dispatch")
                        .order_by(History.id.desc())).all()
    for data in rows:
        if isinstance(data, dict) and data.get("person") is not None:
            return _user_id(session, data["person"])
    return None


def _user_id(session: Session, username: str) -> int | None:
    from engine.storage.models import User

    return session.exec(select(User.id).where(User.username == username)).first()
