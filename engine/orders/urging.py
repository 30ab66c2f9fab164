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

from engine.errors import Conflict, Forbidden, Invalid, TooSoon
from engine.notify.notifications import notify
from engine.orders import workorders
from engine.people.users import Actor, users_with_role
from engine.storage.models import History, User, WorkOrder

KIND = "urge"
INTERVAL = timedelta(hours=1)
MAX_LENGTH = 500
ASKERS = {"requester", "dept_head"}  # the department's own people, beside the reporter
TEXT = {"zh": "{number} 被催办：{title}", "en": "{number} was urged: {title}"}


def may_urge(actor: Actor, order: WorkOrder) -> bool:
    """Whether `actor` is on the asking side of `order`: its reporter, or a requester of its department."""
    return actor.id == order.reporter_id or (
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
        raise Invalid(f"an urge's note is at most {MAX_LENGTH} characters",
                      [{"field": "comment", "message": "too long"}])
    if not may_urge(actor, order):
        raise Forbidden("only the requester or their department may urge a work order")
    if not waiting_for_staff(session, order):
        raise Conflict(f"work order {order.number} is not waiting for the staff: there is nothing to urge")
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
        raise TooSoon(f"work order {order.number} was urged at {last.isoformat(timespec='minutes')}; "
                      f"it can be urged again from {again.isoformat(timespec='minutes')}",
                      max(1, math.ceil((again - now).total_seconds())))
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
    languages = dict(session.exec(select(User.id, User.language).where(User.id.in_(recipients))).all())
    by_language: dict[str, list[int]] = {}
    for uid in recipients:  # each told in their own language
        by_language.setdefault(languages[uid] if languages.get(uid) in TEXT else "zh", []).append(uid)
    for language, told in by_language.items():
        notify(session, told, order=order, kind=KIND, now=now, actor_id=actor.id, body=comment,
               title=TEXT[language].format(number=order.number, title=order.title))
