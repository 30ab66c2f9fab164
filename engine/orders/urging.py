"""Urging (催办): the department that asked chases an open work order.

The reporter, or anyone of the work order's department who files requests there, may urge it while it
waits for the staff (not once it is closed, nor while it waits for the requester's own verdict), at most
once an hour whoever urges. An urge is kept on the timeline, tells the assignee and the desk (the
first-contact dispatcher, or every dispatcher while nobody has taken it on), and is counted on the work
order for the cockpit and appraisal. It changes nothing else: the work order's version stays, so nobody's
open form goes stale because someone urged.
"""
import math
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select

from engine.errors import FIELDS_INVALID, Conflict, Forbidden, Invalid, TooSoon, problem
from engine.notify.messages import message
from engine.notify.notifications import notify
from engine.orders import workorders
from engine.people.users import Actor, users_with_role
from engine.reports.periods import local
from engine.storage.models import History, User, WorkOrder
from workflows.authority import answers_as_reporter

KIND = "urge"
INTERVAL = timedelta(hours=1)
MAX_LENGTH = 500
ASKERS = {"requester", "dept_head"}  # the department's own people, beside the reporter


def may_urge(actor: Actor, order: WorkOrder) -> bool:
    """Whether `actor` is on the asking side of `order`: its requester of record (not the desk that took a call for
    someone without an account), or a requester of its department."""
    return answers_as_reporter(order, actor) or (
        bool(actor.roles & ASKERS) and actor.department_id is not None and actor.department_id == order.department_id)


def waiting_for_staff(session: Session, order: WorkOrder) -> bool:
    """Open, and not waiting for the requester's verdict: what an urge can hurry."""
    feedback = workorders.definition_of(session, order).feedback
    return not order.closed and not (feedback is not None and order.state == feedback.state)


def urge(session: Session, actor: Actor, order_id: int, comment: str, now: datetime) -> WorkOrder:
    """Record an urge and tell the assignee and the desk; in the caller's transaction."""
    order = workorders.get(session, actor, order_id)
    comment = (comment or "").strip()
    if len(comment) > MAX_LENGTH:
        raise Invalid(FIELDS_INVALID, [problem("comment", "too_long", max=MAX_LENGTH)])
    if not may_urge(actor, order):
        raise Forbidden("urge_not_yours")
    if not waiting_for_staff(session, order):
        raise Conflict("nothing_to_urge", number=order.number)
    _claim_the_hour(session, order, now)
    session.add(History(work_order_id=order.id, at=now, actor_id=actor.id, kind=KIND,
                        from_state=order.state, to_state=order.state, comment=comment))
    _tell(session, order, comment, actor, now)
    session.flush()
    return order


def _claim_the_hour(session: Session, order: WorkOrder, now: datetime) -> None:
    # One conditional UPDATE: of two urges at the same moment, one finds the hour taken. It bypasses the
    # ORM so the work order's version (its optimistic lock) stays as it was.
    claimed = session.execute(
        update(WorkOrder).where(WorkOrder.id == order.id,
                                or_(WorkOrder.urged_at.is_(None), WorkOrder.urged_at <= now - INTERVAL))
        .values(urged_at=now, urge_count=WorkOrder.urge_count + 1)
        .execution_options(synchronize_session=False)).rowcount
    if not claimed:
        last = session.exec(select(WorkOrder.urged_at).where(WorkOrder.id == order.id)).one()  # maybe just now
        again = last + INTERVAL
        raise TooSoon("urged_too_soon", max(1, math.ceil((again - now).total_seconds())), number=order.number,
                      last=f"{local(last):%H:%M}", again=f"{local(again):%H:%M}")
    set_committed_value(order, "urged_at", now)
    set_committed_value(order, "urge_count", order.urge_count + 1)


def _tell(session: Session, order: WorkOrder, comment: str, actor: Actor, now: datetime) -> None:
    if order.first_contact_id is not None:
        desk = [order.first_contact_id]
    else:
        desk = [user.id for user in users_with_role(session, "dispatcher")]
    recipients = [uid for uid in dict.fromkeys([order.assignee_id, *desk]) if uid is not None and uid != actor.id]
    if not recipients:
        return
    # One notice, each reader reading it in their own language (engine/notify/messages.py); the note as written.
    notify(session, recipients, order=order, kind=KIND, now=now, actor_id=actor.id, body=comment,
           title=f"{order.number} {order.title}", message=message("urged", number=order.number))
