"""Follow-up calls (回访): the desk calls the requester back and records what it heard.

Which work orders get a call is the definition's `calls:` (workflows/calls.py): those in its state, at a
priority always called or sampled by their number, and, for closed work, only within `within` of closing.
Nothing here names a process.

Calls are rows of their own (`calls`), never ratings: the requester's stars (engine/orders/feedback.py) and
what the desk heard on the phone are counted apart, so a satisfaction figure of real ratings stays one.

A call that reached nobody may be tried again: each attempt is kept, and the work order stays due until
someone answers (or its `within` has passed). A closed work order has one reached call: another is
refused. Two dispatchers recording at the same moment: a reached call writes the work order (its version),
so the second loses the race and is told so, as with any other step.

When the call's state is the feedback state (a complaint's 已答复), a reached call is the verdict: satisfied
fires the feedback's satisfied event, unsatisfied the unsatisfied one, its notes going into the feedback's
`comment_field` (feedback.conclude), and that event's own rules apply (a dispatcher other than who replied).
It is still kept as a call, not as a rating.
"""
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, exists, or_, true
from sqlmodel import Session, select

from engine.errors import FIELDS_INVALID, Conflict, Forbidden, HouqinError, Invalid, problem
from engine.orders import feedback, visibility as permissions, workorders
from engine.people.users import Actor
from engine.published import definitions
from engine.reports import periods
from engine.storage.models import Call, Definition, History, WorkOrder
from workflows.calls import CallsSpec, call_state, is_verdict
from workflows.limits import TEXT_LENGTH
from workflows.schema import ProcessDefinition

KIND = "call"
MAX_LENGTH = TEXT_LENGTH  # the notes; a complaint's become its follow-up answer, a `text` field


@dataclass
class Due:
    """A work order waiting for its call, with the attempts that reached nobody so far."""

    order: WorkOrder
    call_by: datetime | None  # past it, the work order is no longer called
    always: bool  # called whatever its number (its priority, or a sample of 100%), not sampled
    attempts: int
    last_attempt_at: datetime | None


def may_call(actor: Actor, spec: CallsSpec) -> bool:
    return bool(actor.roles & set(spec.by))


def call_by(spec: CallsSpec, order: WorkOrder) -> datetime | None:
    return order.closed_at + spec.within.wall() if spec.within is not None and order.closed_at else None


def due(session: Session, actor: Actor, order: WorkOrder, now: datetime) -> bool:
    """Whether `actor` may record a call on `order` now (the order page shows the call form)."""
    definition = workorders.definition_of(session, order)
    return (definition.calls is not None and may_call(actor, definition.calls)
            and _not_due(session, definition, order, now) is None)


def record(session: Session, actor: Actor, order_id: int, *, reached: bool, satisfied: bool | None = None,
           comment: str = "", expected_version: int | None = None, now: datetime) -> WorkOrder:
    """Record a call on a work order due one, in the caller's transaction; a reached call on a work order
    waiting for its verdict gives the verdict."""
    order = workorders.get(session, actor, order_id)
    definition = workorders.definition_of(session, order)
    if definition.calls is not None and not may_call(actor, definition.calls):
        raise Forbidden("call_not_yours", roles=definition.calls.by)
    refusal = _not_due(session, definition, order, now)
    if refusal is not None:
        raise refusal
    comment = _checked(reached, satisfied, comment)
    before = order.state
    if reached and is_verdict(definition):
        feedback.conclude(session, actor, order, definition.feedback, satisfied=satisfied, comment=comment,
                          expected_version=expected_version, now=now)
    else:
        workorders._check_version(order, expected_version)
        if reached:  # writing the work order makes a second call recorded at the same moment lose the race
            order.updated_at = now
            session.add(order)
    session.add(Call(work_order_id=order.id, reached=reached, satisfied=satisfied if reached else None,
                     comment=comment, at=now, by_id=actor.id))
    session.add(History(work_order_id=order.id, at=now, actor_id=actor.id, kind=KIND, from_state=before,
                        to_state=before, comment=comment,
                        data={"reached": reached, **({"satisfied": satisfied} if reached else {})}))
    if reached and is_verdict(definition):
        feedback.escalate_if_unsatisfied(session, order, definition.feedback, satisfied, actor, now)
    workorders.flush_order(session, order)
    return order


def _checked(reached: bool, satisfied: bool | None, comment: str) -> str:
    comment = (comment or "").strip()
    errors = []
    if reached and satisfied is None:
        errors.append(problem("satisfied", "call_satisfied_needed"))
    if not reached and satisfied is not None:
        errors.append(problem("satisfied", "call_satisfied_unreached"))
    if reached and satisfied is False and not comment:
        errors.append(problem("comment", "call_comment_needed"))
    if len(comment) > MAX_LENGTH:
        errors.append(problem("comment", "call_comment_too_long", max=MAX_LENGTH))
    if errors:
        raise Invalid(FIELDS_INVALID, errors)
    return comment


def _not_due(session: Session, definition: ProcessDefinition, order: WorkOrder, now: datetime) -> HouqinError | None:
    """Why `order` is not due a call now (a Conflict saying so), or None when it is."""
    spec = definition.calls
    if spec is None:
        return Conflict("call_not_taken", process=definition.title.model_dump())
    state = call_state(definition)
    if order.state != state:
        return Conflict("call_wrong_state", number=order.number, state=_state_label(definition, state),
                        current=_state_label(definition, order.state))
    if not spec.picked(order.number, order.priority):
        return Conflict("call_not_sampled", number=order.number, share=f"{spec.percent:g}%")
    deadline = call_by(spec, order)
    if deadline is not None and now > deadline:
        return Conflict("call_too_late", number=order.number, deadline=f"{periods.local(deadline):%Y-%m-%d %H:%M}")
    if not is_verdict(definition):
        made = session.exec(select(Call.at).where(Call.work_order_id == order.id, Call.reached == true())).first()
        if made is not None:
            return Conflict("call_made", number=order.number, at=f"{periods.local(made):%Y-%m-%d %H:%M}")
    return None


def _state_label(definition: ProcessDefinition, state: str) -> dict | str:
    spec = definition.states.get(state)
    return spec.label.model_dump() if spec else state


# --- the queue --------------------------------------------------------------------------------

def queue(session: Session, actor: Actor, now: datetime, *, limit: int = 50, offset: int = 0) -> tuple[list[Due], int]:
    """The work orders due a call that `actor` may make, longest waiting first; and how many there are.

    The database chooses the candidates (state, window, priority, not yet reached); the sampled share is
    picked here, from each number (workflows.calls.bucket), which SQL cannot compute the same on every
    database. Forbidden when no published process has `actor` make calls."""
    per_version, specs = [], {}
    for key, version in session.exec(select(Definition.key, Definition.version)).all():
        definition = definitions.compiled(session, key, version).definition
        if definition.calls is None or not may_call(actor, definition.calls):
            continue
        specs[(key, version)] = definition.calls
        per_version.append(_candidates(definition, key, version, now))
    if not specs:
        raise Forbidden("call_queue_not_yours")
    query = select(WorkOrder).where(or_(*per_version))
    visible = permissions.visible_clause(actor)
    if visible is not None:
        query = query.where(visible)
    orders = [order for order in session.exec(query).all()
              if specs[(order.process, order.definition_version)].picked(order.number, order.priority)]
    orders.sort(key=lambda order: (_since(order), order.id))
    page = orders[max(offset, 0):max(offset, 0) + max(limit, 1)]
    attempts = _attempts(session, page)
    out = []
    for order in page:
        spec = specs[(order.process, order.definition_version)]
        tried = [at for at in attempts.get(order.id, []) if at >= _since(order)]
        out.append(Due(order, call_by(spec, order), spec.always(order.priority), len(tried), max(tried, default=None)))
    return out, len(orders)


def _candidates(definition: ProcessDefinition, key: str, version: int, now: datetime):
    spec = definition.calls
    parts = [WorkOrder.process == key, WorkOrder.definition_version == version,
             WorkOrder.state == call_state(definition)]
    if spec.within is not None:
        parts.append(WorkOrder.closed_at >= now - spec.within.wall())
    if not spec.sample:
        parts.append(WorkOrder.priority.in_(spec.all))
    if not is_verdict(definition):
        parts.append(~exists().where(Call.work_order_id == WorkOrder.id, Call.reached == true()))
    return and_(*parts)


def _since(order: WorkOrder) -> datetime:
    """Since when it waits for its call: closing, or its last step into the verdict state."""
    return order.closed_at or order.updated_at


def _attempts(session: Session, orders: list[WorkOrder]) -> dict[int, list[datetime]]:
    """When each work order was called without reaching anyone: one query for the page."""
    if not orders:
        return {}
    out: dict[int, list[datetime]] = {}
    rows = session.exec(select(Call.work_order_id, Call.at)
                        .where(Call.work_order_id.in_([order.id for order in orders]), Call.reached == False))  # noqa: E712
    for order_id, at in rows.all():
        out.setdefault(order_id, []).append(at)
    return out
