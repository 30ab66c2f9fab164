"""The work queues behind the dispatch board, a technician's list and the escalation list.

Each is a bounded, indexed query over the work orders the user may see (the
visibility rule is engine.permissions'); the pages only render them.
"""
from datetime import datetime

from sqlalchemy import case, func
from sqlmodel import Session, select

from engine import permissions, workorders
from engine.models import SlaTimer, WorkOrder
from engine.sla import LIVE
from engine.users import Actor
from engine.workorders import Filters
from workflows.schema import PRIORITIES

LIMIT = 200
# urgent first: the order in which workflows.schema lists the priorities
URGENCY = case({name: rank for rank, name in enumerate(PRIORITIES)}, value=WorkOrder.priority, else_=len(PRIORITIES))


def _visible(session: Session, actor: Actor):
    query = select(WorkOrder).where(WorkOrder.closed == False)  # noqa: E712
    clause = permissions.visible_clause(actor)
    return query.where(clause) if clause is not None else query


def unassigned(session: Session, actor: Actor, limit: int = LIMIT) -> list[WorkOrder]:
    """Open work orders nobody holds yet: most urgent first, then oldest first."""
    query = _visible(session, actor).where(WorkOrder.assignee_id == None)  # noqa: E711
    return list(session.exec(query.order_by(URGENCY, WorkOrder.created_at, WorkOrder.id).limit(limit)).all())


def assigned(session: Session, actor: Actor, limit: int = LIMIT) -> list[WorkOrder]:
    """Open work orders somebody holds (the dispatcher may reassign them): most urgent, oldest first."""
    query = _visible(session, actor).where(WorkOrder.assignee_id != None)  # noqa: E711
    return list(session.exec(query.order_by(URGENCY, WorkOrder.created_at, WorkOrder.id).limit(limit)).all())


def assigned_to(session: Session, actor: Actor, limit: int = LIMIT) -> list[WorkOrder]:
    """What is on this person's plate: open work orders assigned to them, most urgent first."""
    query = select(WorkOrder).where(WorkOrder.assignee_id == actor.id, WorkOrder.closed == False)  # noqa: E712
    return list(session.exec(query.order_by(URGENCY, WorkOrder.created_at, WorkOrder.id).limit(limit)).all())


def needing_attention(session: Session, actor: Actor, now: datetime) -> list[WorkOrder]:
    """Overdue or escalated open work orders, oldest breach first (the supervisor's list)."""
    found: dict[int, WorkOrder] = {}
    for filters in (Filters(overdue=True, limit=LIMIT), Filters(escalated=True, limit=LIMIT)):
        for order in workorders.search(session, actor, filters, now)[0]:
            found.setdefault(order.id, order)
    if not found:
        return []
    due = dict(session.exec(
        select(SlaTimer.work_order_id, func.min(SlaTimer.due_at))
        .where(SlaTimer.work_order_id.in_(list(found)), SlaTimer.status.in_((*LIVE, "breached")))
        .group_by(SlaTimer.work_order_id)).all())
    far = datetime.max.replace(tzinfo=now.tzinfo)
    return sorted(found.values(), key=lambda o: (due.get(o.id) or far, o.id))
