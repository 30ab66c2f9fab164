"""The requester's verdict: satisfied closes the loop, unsatisfied reopens it (闭环).

Which state waits for feedback, and which events it fires, come from the
definition's `feedback` section; nothing here knows a particular process.
"""
from datetime import datetime

from sqlmodel import Session

from engine.errors import FIELDS_INVALID, Conflict, Invalid, problem
from engine.notify.messages import message
from engine.notify.notifications import notify
from engine.orders import workorders
from engine.people.users import Actor, users_with_role
from engine.storage.models import Feedback, History


def give(
    session: Session, actor: Actor | None, order_id: int, *, satisfied: bool, rating: int | None = None,
    comment: str = "", expected_version: int | None = None, now: datetime, auto: bool = False,
):
    """The verdict, its transition and its rows: written together, in the caller's one transaction."""
    order = workorders.get(session, actor, order_id) if actor else workorders._get_any(session, order_id)
    definition = workorders.definition_of(session, order)
    spec = definition.feedback
    if spec is None:
        raise Conflict("takes_no_feedback", process=order.process, title=definition.title.model_dump())
    if order.state != spec.state:
        states = definition.states
        raise Conflict("feedback_not_now", state=spec.state, now_state=order.state,
                       state_label=states[spec.state].label.model_dump(),
                       now_state_label=states[order.state].label.model_dump() if order.state in states else order.state)
    _check(satisfied, rating, comment, auto)
    conclude(session, actor, order, spec, satisfied=satisfied, comment=comment, expected_version=expected_version,
             now=now)
    session.add(Feedback(work_order_id=order.id, satisfied=satisfied, rating=rating, comment=comment, auto=auto,
                         at=now, by_id=actor.id if actor else None))
    session.add(History(work_order_id=order.id, at=now, actor_id=actor.id if actor else None, kind="feedback",
                        comment=comment, data={"satisfied": satisfied, "rating": rating, "auto": auto}))
    if auto:
        order.auto_confirmed = True
    escalate_if_unsatisfied(session, order, spec, satisfied, actor, now)
    workorders.flush_order(session, order)
    return order


def conclude(session: Session, actor: Actor | None, order, spec, *, satisfied: bool, comment: str,
             expected_version: int | None, now: datetime) -> None:
    """The verdict's transition: the satisfied or the unsatisfied event, with the comment in the definition's
    `comment_field`. Shared by the requester's rating and by a follow-up call that gives the verdict
    (engine/orders/calls.py), each of which keeps its own record."""
    event = spec.satisfied if satisfied else spec.unsatisfied
    # A definition may record the verdict's comment in a field, e.g. a complaint's follow-up call notes.
    values = {spec.comment_field: comment} if spec.comment_field and comment else {}
    try:
        workorders.fire(session, actor, order.id, event,
                        workorders.EventInput(comment=comment, fields=values, expected_version=expected_version),
                        now)
    except Invalid as exc:
        raise _in_comment_terms(exc, spec.comment_field) from None


def escalate_if_unsatisfied(session: Session, order, spec, satisfied: bool, actor: Actor | None,
                            now: datetime) -> None:
    if not satisfied and spec.escalate_unsatisfied:
        _escalate_at_once(session, order, actor, now)


def _check(satisfied: bool, rating: int | None, comment: str, auto: bool) -> None:
    errors = []
    if rating is not None and (isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5):
        errors.append(problem("rating", "rating_range"))
    if satisfied and rating is None and not auto:
        errors.append(problem("rating", "rating_needed"))
    if not satisfied and not (comment or "").strip():
        errors.append(problem("comment", "say_what_is_wrong"))
    if errors:
        raise Invalid(FIELDS_INVALID, errors)


def _in_comment_terms(exc: Invalid, comment_field: str | None) -> Invalid:
    """The caller gave a verdict, not fields: point a missing comment field at 'comment'."""
    if comment_field is None:
        return exc
    errors = [
        problem("comment", "required_in_comment", name=comment_field)
        if error.get("field") == f"fields.{comment_field}" else error
        for error in exc.errors
    ]
    return Invalid(FIELDS_INVALID, errors)


def _escalate_at_once(session: Session, order, actor: Actor | None, now: datetime) -> None:
    """An unsatisfied complainant goes straight to a supervisor (事事有落实)."""
    order.escalation_level = max(order.escalation_level, 1)
    supervisors = [user.id for user in users_with_role(session, "supervisor")]
    said = message("reopened_unsatisfied")
    session.add(History(work_order_id=order.id, at=now, actor_id=actor.id if actor else None, kind="escalation",
                        data={"level": order.escalation_level, "message": said}))
    notify(session, supervisors, order=order, kind="escalation", now=now, title=f"{order.number} {order.title}",
           message=said)
