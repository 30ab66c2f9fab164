"""The work queues behind the dispatch board, a technician's list and the escalation list.

Each is a bounded, indexed query over the work orders the user may see (the
visibility rule is engine.orders.visibility'); the pages only render them.
"""
from datetime import datetime

from sqlalchemy import case, or_
from sqlmodel import Session, select

from engine.orders import visibility as permissions
from engine.people.users import Actor
from engine.sla import lateness
from engine.storage.models import WorkOrder
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


def pool_for(session: Session, actor: Actor, limit: int = LIMIT) -> list[WorkOrder]:
    """Open work orders nobody holds, in the pools of the teams this person is on duty for (抢单池, by
    `actor.on_duty`); whether they may claim each one is the compiled process's to say."""
    teams = actor.on_duty
    if not teams:
        return []
    query = select(WorkOrder).where(WorkOrder.closed == False, WorkOrder.assignee_id == None,  # noqa: E711,E712
                                    WorkOrder.team_id.in_(sorted(teams)))
    return list(session.exec(query.order_by(URGENCY, WorkOrder.created_at, WorkOrder.id).limit(limit)).all())


def needing_attention(session: Session, actor: Actor, now: datetime) -> list[WorkOrder]:
    """Overdue or escalated open work orders, oldest breach first (the supervisor's list)."""
    attention = or_(lateness.order_overdue_clause(now), WorkOrder.escalation_level > 0)
    query = _visible(session, actor).where(attention)
    query = query.order_by(lateness.went_late_at(now, live_only=False).nulls_last(), WorkOrder.id)
    return list(session.exec(query.limit(LIMIT)).all())


def routing_notes(session: Session, orders: list[WorkOrder]) -> dict[int, dict]:
    """Per work order, how routing left it and why (its newest dispatch entry): `routed` (offered to a person
    automatically), `team` (in a team's pool) or `dispatcher` (waits for a person), with its reason: a message
    (engine/notify/messages.py), or the two languages a row written before messages holds."""
    from engine.dispatch.routing import latest

    notes = {}
    for order_id, row in latest(session, [order.id for order in orders]).items():
        data = row.data or {}
        if "waits_for" not in data:
            continue  # a decline's note: the routing that followed it says where the order went
        waits = "routed" if data.get("person") else data["waits_for"]
        notes[order_id] = {"waits": waits, "rule": data.get("rule"), "message": data.get("message"),
                           "zh": data.get("reason_zh", ""), "en": data.get("reason_en", "")}
    return notes
