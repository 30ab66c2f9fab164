"""Who may see a work order.

Clinical departments (users who only hold `requester` or `dept_head`) see the
work orders of their own department and those they are on (reporter, assignee,
first-contact owner); another department's work order does not exist for them.
Logistics staff (every other role: dispatcher, technician, logistics,
purchaser, inspector, supervisor, leader, designer, admin) work the hospital's
whole pool and see every work order. What anyone may *do* is not decided here:
the compiled process decides it per event (workflows.machine.CompiledProcess).
"""
from sqlalchemy import false, or_

from engine.people.users import Actor
from engine.storage.models import WorkOrder


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
