"""Follow-ups (发现问题，发起报修/隐患): a round that finds a fault or a hazard raises the repair or the
hazard in one step, about the same device and at the same place, and the two name each other.

The new work order is an ordinary one of its process (its routing, timers and ledger are the
process's own); it keeps `origin_id`, and both timelines say what was raised from what. Everything
is written in the caller's one transaction: a refusal leaves neither order changed.
"""
from datetime import datetime

from sqlmodel import Session, select

from engine.errors import FIELDS_INVALID, Forbidden, Invalid, problem
from engine.orders import visibility, workorders
from engine.people.users import Actor
from engine.storage.models import Department, History, WorkOrder

PROCESSES = ("repair", "hazard")
# Besides the person doing the round (its assignee): those who plan and hand out rounds.
RAISERS = frozenset({"dispatcher", "supervisor"})


def may_raise(actor: Actor, origin: WorkOrder) -> bool:
    return actor.id == origin.assignee_id or bool(actor.roles & RAISERS)


def raise_from(session: Session, actor: Actor, origin_id: int, *, process: str, title: str, description: str = "",
               priority: str = "normal", fields: dict | None = None, now: datetime) -> WorkOrder:
    """A new `process` work order raised from work order `origin_id`, at its place and about its device."""
    origin = workorders.get(session, actor, origin_id)  # one the actor cannot see does not exist for them
    if not may_raise(actor, origin):
        raise Forbidden("follow_up_not_yours")
    if process not in PROCESSES:
        raise Invalid(FIELDS_INVALID, [problem("process", "follow_up_process", processes=list(PROCESSES))])
    department = session.get(Department, origin.department_id) if origin.department_id else None
    order = workorders.create(
        session, actor, process=process, title=title, description=description, priority=priority,
        department=department.name if department else None, location=origin.location, fields=fields, now=now,
        location_id=origin.location_id, asset_id=origin.asset_id, origin_id=origin.id,
        scheduled=True,  # filed into the origin's department, whoever raises it: that department's problem
    )
    session.add(History(work_order_id=origin.id, at=now, actor_id=actor.id, kind="follow_up", comment=order.title,
                        data={"follow_up_id": order.id, "number": order.number, "process": process}))
    session.add(History(work_order_id=order.id, at=now, actor_id=actor.id, kind="origin", comment=origin.title,
                        data={"origin_id": origin.id, "number": origin.number, "process": origin.process}))
    session.flush()
    return order


def of(session: Session, actor: Actor, order_id: int) -> list[WorkOrder]:
    """The follow-ups raised from a work order that `actor` may see, oldest first: one query."""
    query = select(WorkOrder).where(WorkOrder.origin_id == order_id)
    visible = visibility.visible_clause(actor)
    if visible is not None:
        query = query.where(visible)
    return list(session.exec(query.order_by(WorkOrder.id)).all())
