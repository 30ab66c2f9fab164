"""Who may fire an event, and who may see a work order.

Clinical departments (users who only hold `requester` or `dept_head`) see the
work orders of their own department and those they are on (reporter, assignee,
first-contact owner); another department's work order does not exist for them.
Logistics staff (every other role: dispatcher, technician, logistics,
purchaser, inspector, supervisor, leader, designer, admin) work the hospital's
whole pool and see every work order; what they may *do* is still decided per
event by its roles.
"""
from sqlalchemy import false, or_
from sqlmodel import Session, select

from engine.models import History, WorkOrder
from engine.users import Actor
from workflows.schema import DEPARTMENT_SCOPE, EventSpec


def role_allows(spec: str, order: WorkOrder, actor: Actor) -> bool:
    if spec == "assignee":
        return order.assignee_id is not None and order.assignee_id == actor.id
    if spec == "reporter":
        return order.reporter_id == actor.id
    if spec.endswith(DEPARTMENT_SCOPE):
        return actor.has(spec.removesuffix(DEPARTMENT_SCOPE)) and actor.department_id == order.department_id
    return actor.has(spec)


def may_fire(event: EventSpec, order: WorkOrder, actor: Actor) -> bool:
    return any(role_allows(spec, order, actor) for spec in event.roles)


def distinct_actor_problem(session: Session, event: EventSpec, order: WorkOrder, actor: Actor) -> str | None:
    """The four-eyes rule: e.g. a hazard's re-inspector is never the one who fixed it."""
    if not event.distinct_from:
        return None
    last = session.exec(
        select(History.actor_id).where(History.work_order_id == order.id, History.event.in_(event.distinct_from))
        .order_by(History.id.desc())
    ).first()
    if last is not None and last == actor.id:
        return f"'{event.name}' must be done by someone other than who did '{' / '.join(event.distinct_from)}'"
    return None


def visible_clause(actor: Actor):
    """SQL filter for the work orders `actor` may see; None when they see everything."""
    if actor.sees_all:
        return None
    clauses = [WorkOrder.reporter_id == actor.id, WorkOrder.assignee_id == actor.id, WorkOrder.first_contact_id == actor.id]
    if actor.department_id is not None:
        clauses.append(WorkOrder.department_id == actor.department_id)
    return or_(false(), *clauses)


def can_see(actor: Actor, order: WorkOrder) -> bool:
    return (
        actor.sees_all
        or actor.id in (order.reporter_id, order.assignee_id, order.first_contact_id)
        or (actor.department_id is not None and actor.department_id == order.department_id)
    )
