"""Who may fire an event, and who may see a work order.

A work order is visible to: those who oversee everything (dispatcher,
supervisor, admin, leader); its own department; the people on it (reporter,
assignee, first-contact owner); and holders of a role the process names in an
event (logistics and purchasers see every material request, inspectors every
hazard) — they cannot do their job otherwise.
"""
from sqlalchemy import false, or_
from sqlmodel import Session, select

from engine.models import History, WorkOrder
from engine.users import Actor
from workflows.schema import DEPARTMENT_SCOPE, EventSpec, ProcessDefinition


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


def acting_processes(actor: Actor, definitions: list[ProcessDefinition]) -> list[str]:
    """Processes in which one of the actor's roles is named by some event (role@department excluded)."""
    return [
        d.key for d in definitions
        if any(spec in actor.roles for event in d.events for spec in event.roles)
    ]


def visible_clause(actor: Actor, processes: list[str]):
    """SQL filter for the work orders `actor` may see."""
    if actor.oversees_all:
        return None
    clauses = [WorkOrder.reporter_id == actor.id, WorkOrder.assignee_id == actor.id, WorkOrder.first_contact_id == actor.id]
    if actor.department_id is not None:
        clauses.append(WorkOrder.department_id == actor.department_id)
    if processes:
        clauses.append(WorkOrder.process.in_(processes))
    return or_(false(), *clauses)


def can_see(actor: Actor, order: WorkOrder, processes: list[str]) -> bool:
    return (
        actor.oversees_all
        or actor.id in (order.reporter_id, order.assignee_id, order.first_contact_id)
        or (actor.department_id is not None and actor.department_id == order.department_id)
        or order.process in processes
    )
