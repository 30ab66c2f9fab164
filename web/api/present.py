"""Work orders as the API shows them."""
from datetime import datetime

from sqlmodel import Session, select

from engine import sla, workorders
from engine.models import Department, Escalation, SlaTimer, User, WorkOrder
from engine.users import Actor


def _names(session: Session, ids: set) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return dict(session.exec(select(User.id, User.username).where(User.id.in_(ids))).all())


def _departments(session: Session, ids: set) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return dict(session.exec(select(Department.id, Department.name).where(Department.id.in_(ids))).all())


def summary(order: WorkOrder, users: dict, departments: dict) -> dict:
    return {
        "id": order.id, "number": order.number, "process": order.process, "definition_version": order.definition_version,
        "version": order.version, "state": order.state, "priority": order.priority,
        "department": departments.get(order.department_id), "location": order.location, "title": order.title,
        "description": order.description, "fields": order.fields,
        "reporter": users.get(order.reporter_id), "assignee": users.get(order.assignee_id),
        "first_contact": users.get(order.first_contact_id), "escalation_level": order.escalation_level,
        "reopen_count": order.reopen_count, "closed": order.closed, "auto_confirmed": order.auto_confirmed,
        "created_at": order.created_at, "updated_at": order.updated_at, "closed_at": order.closed_at,
    }


def summaries(session: Session, orders: list[WorkOrder], now: datetime) -> list[dict]:
    users = _names(session, {o.reporter_id for o in orders} | {o.assignee_id for o in orders} | {o.first_contact_id for o in orders})
    departments = _departments(session, {o.department_id for o in orders})
    shown_timers = timers_of(session, orders, now)
    return [{**summary(order, users, departments), "sla": shown_timers.get(order.id, [])} for order in orders]


def timers(session: Session, order: WorkOrder, now: datetime) -> list[dict]:
    return timers_of(session, [order], now).get(order.id, [])


def timers_of(session: Session, orders: list[WorkOrder], now: datetime) -> dict[int, list[dict]]:
    """The SLA timers of several work orders in one query: a supervisor's list shows what is late and by how much."""
    if not orders:
        return {}
    rows = session.exec(select(SlaTimer).where(SlaTimer.work_order_id.in_([o.id for o in orders])).order_by(SlaTimer.id)).all()
    specs = {order.id: workorders.definition_of(session, order).sla for order in orders}
    out: dict[int, list[dict]] = {}
    for timer in rows:
        spec = specs[timer.work_order_id].get(timer.name)
        out.setdefault(timer.work_order_id, []).append({
            "name": timer.name, "label": spec.label.model_dump() if spec and spec.label else None,
            "cycle": timer.cycle, "calendar": timer.calendar, "started_at": timer.started_at, "due_at": timer.due_at,
            "state": timer.status, "breached": sla.is_overdue(timer, now), "level": timer.level,
            "remaining_seconds": sla.remaining_seconds(session, timer, now), "stopped_at": timer.stopped_at,
            "working_seconds": timer.working_seconds,
        })
    return out


def timeline(session: Session, order: WorkOrder) -> list[dict]:
    rows = workorders.history(session, order.id)
    users = _names(session, {row.actor_id for row in rows})
    return [
        {"id": row.id, "at": row.at, "kind": row.kind, "actor": users.get(row.actor_id), "event": row.event,
         "from": row.from_state, "to": row.to_state, "comment": row.comment, "data": row.data}
        for row in rows
    ]


def detail(session: Session, order: WorkOrder, actor: Actor, now: datetime) -> dict:
    [out] = summaries(session, [order], now)  # with its timers
    escalations = session.exec(select(Escalation).where(Escalation.work_order_id == order.id).order_by(Escalation.id)).all()
    out.update(
        available_events=workorders.available_events(session, order, actor),
        escalations=[{"level": e.level, "fired_at": e.fired_at, "recipients": e.recipients} for e in escalations],
        history=timeline(session, order),
    )
    return out
