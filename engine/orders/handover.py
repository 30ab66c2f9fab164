"""Handover (移交): the first-contact dispatcher hands a work order to another dispatcher, on record.

首接负责制: whoever at the desk first takes a request on stays responsible for it (the work order's
first contact: the desk told of urges, the one the caller asks for) until it is handed over. A handover
is an entry of its own on the timeline (from whom, to whom, why) and tells the new desk. Only the first
contact, or a supervisor, may hand it over, and only to someone who holds the dispatcher role.
"""
from datetime import datetime

from sqlmodel import Session, select

from engine.errors import FIELDS_INVALID, Conflict, Forbidden, Invalid, problem, refused
from engine.notify.messages import message
from engine.notify.notifications import notify
from engine.orders import workorders
from engine.people.users import Actor
from engine.storage.models import History, User, UserRole, WorkOrder
from workflows.authority import COMMENT_LIMIT
from workflows.refusals import Refusal, check_version

KIND = "handover"
DESK = "dispatcher"  # who may take a handover


def may_hand_over(actor: Actor, order: WorkOrder) -> bool:
    """The first-contact dispatcher, or a supervisor, while the work order is open."""
    holds_it = actor.has(DESK) and actor.id == order.first_contact_id
    return not order.closed and (holds_it or actor.has("supervisor"))


def hand_over(session: Session, actor: Actor, order_id: int, *, to: str, comment: str = "",
              expected_version: int | None = None, now: datetime) -> WorkOrder:
    """Make `to` the work order's first contact, record it and tell them; in the caller's transaction.

    Checked like an event: visible (404), the version read (409), open (409), who may (403), the input (422)."""
    order = workorders.get(session, actor, order_id)
    try:
        check_version(order, expected_version)
    except Refusal as refusal:
        raise refused(refusal) from None
    if order.closed:
        raise Conflict("nothing_to_hand_over", number=order.number)
    if not may_hand_over(actor, order):
        raise Forbidden("handover_not_yours")
    target = _check(session, order, to, comment)
    before = session.get(User, order.first_contact_id) if order.first_contact_id is not None else None
    order.first_contact_id, order.updated_at = target.id, now
    session.add(order)
    session.add(History(work_order_id=order.id, at=now, actor_id=actor.id, kind=KIND, from_state=order.state,
                        to_state=order.state, comment=comment.strip(),
                        data={"from": before.username if before else None, "to": target.username}))
    if target.id != actor.id:  # in their own language (engine/notify/messages.py); the note as written
        notify(session, [target.id], order=order, kind=KIND, now=now, actor_id=actor.id, body=comment.strip(),
               title=f"{order.number} {order.title}", message=message("handed_over_to_you"))
    workorders.flush_order(session, order)
    return order


def _check(session: Session, order: WorkOrder, to: str, comment: str) -> User:
    """The dispatcher `to` names, or Invalid with what to fix."""
    errors = []
    target = session.exec(select(User).where(User.username == (to or "").strip(), User.active == True)).first()  # noqa: E712
    if target is None:
        errors.append(problem("to", "no_active_user", username=to))
    elif session.exec(select(UserRole).where(UserRole.user_id == target.id, UserRole.role == DESK)).first() is None:
        errors.append(problem("to", "not_a_dispatcher", username=to))
    elif target.id == order.first_contact_id:
        errors.append(problem("to", "already_first_contact", username=to))
    if len(comment or "") > COMMENT_LIMIT:
        errors.append(problem("comment", "too_long", max=COMMENT_LIMIT))
    if errors:
        raise Invalid(FIELDS_INVALID, errors)
    return target
