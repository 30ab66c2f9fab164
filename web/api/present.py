"""Work orders as Houqin shows them (web.public models), for the API and the pages alike.

Names are looked up in batches: a list of work orders, or one work order with a
history of any length, costs the same few queries (users, departments, timers,
escalations, history), never one query per row.
"""
from datetime import datetime

from sqlmodel import Session, select

from engine.notify import messages
from engine.orders import follow_ups, visibility, workorders
from engine.people.users import Actor
from engine.places import assets, locations
from engine.sla import lateness, timers as sla
from engine.storage.models import Department, Escalation, History, SlaTimer, User, WorkOrder
from web.i18n import message_text, reading
from web.public import (CallerPublic, EscalationPublic, HistoryEntryPublic, LinkedOrderPublic, TimerPublic, WorkOrderPublic,
                        RiskPublic, RiskReasonPublic, WorkOrderListItemPublic, WorkOrderRowPublic)


def usernames(session: Session, ids: set) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return dict(session.exec(select(User.id, User.username).where(User.id.in_(ids))).all())


def _departments(session: Session, ids: set) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return dict(session.exec(select(Department.id, Department.name).where(Department.id.in_(ids))).all())


def _people(order: WorkOrder) -> set:
    return {order.reporter_id, order.assignee_id, order.first_contact_id}


class _Places:
    """The places and devices of some work orders, named in at most one query each (none when none has one)."""

    def __init__(self, session: Session, orders: list[WorkOrder]):
        self.places = locations.full_names(session, {o.location_id for o in orders})
        self.assets = assets.labels(session, {o.asset_id for o in orders})

    def of(self, order: WorkOrder) -> dict:
        return {"location_id": order.location_id, "place": self.places.get(order.location_id),
                "asset_id": order.asset_id, "asset": self.assets.get(order.asset_id)}


def _row(order: WorkOrder, users: dict, departments: dict, timers: list[TimerPublic], places: _Places) -> dict:
    return {
        **places.of(order),
        "origin_id": order.origin_id, "id": order.id, "number": order.number, "process": order.process, "definition_version": order.definition_version,
        "version": order.version, "state": order.state, "priority": order.priority,
        "department": departments.get(order.department_id), "location": order.location, "title": order.title,
        "description": order.description, "fields": order.fields,
        "reporter": users.get(order.reporter_id), "assignee": users.get(order.assignee_id),
        "first_contact": users.get(order.first_contact_id), "escalation_level": order.escalation_level,
        "reopen_count": order.reopen_count, "urge_count": order.urge_count, "urged_at": order.urged_at,
        "closed": order.closed, "auto_confirmed": order.auto_confirmed,
        "created_at": order.created_at, "updated_at": order.updated_at, "closed_at": order.closed_at,
        "sla": timers,
    }


def summaries(session: Session, orders: list[WorkOrder], now: datetime) -> list[WorkOrderRowPublic]:
    users = usernames(session, set().union(*(_people(o) for o in orders)) if orders else set())
    departments = _departments(session, {o.department_id for o in orders})
    shown_timers = timers_of(session, orders, now)
    places = _Places(session, orders)
    return [WorkOrderRowPublic(**_row(order, users, departments, shown_timers.get(order.id, []), places))
            for order in orders]


def list_items(session: Session, orders: list[WorkOrder], now: datetime, *,
               risks: dict[int, RiskPublic] | None = None) -> list[WorkOrderListItemPublic]:
    """`summaries` as GET /workorders lists them: with each one's risk when at-risk orders were asked for."""
    risks = risks or {}
    return [WorkOrderListItemPublic(**dict(row), risk=risks.get(row.id)) for row in summaries(session, orders, now)]


def risk_of(scored, t) -> RiskPublic:
    """An at-risk score as the API shows it, its reason in the caller's language (`t`, a web.i18n.Translator)."""
    found = scored.risk
    return RiskPublic(
        probability=round(found.probability, 4), timer=found.timer, threshold=scored.threshold,
        reason=RiskReasonPublic(text=t("risk.reason", percent=round(found.probability * 100)), group=found.group,
                                similar=found.similar, used=round(found.used, 4)))


def timers_of(session: Session, orders: list[WorkOrder], now: datetime) -> dict[int, list[TimerPublic]]:
    """The SLA timers of several work orders in one query: a supervisor's list shows what is late and by how much."""
    if not orders:
        return {}
    rows = session.exec(select(SlaTimer).where(SlaTimer.work_order_id.in_([o.id for o in orders])).order_by(SlaTimer.id)).all()
    specs = {order.id: workorders.definition_of(session, order).sla for order in orders}
    out: dict[int, list[TimerPublic]] = {}
    for timer in rows:
        spec = specs[timer.work_order_id].get(timer.name)
        out.setdefault(timer.work_order_id, []).append(TimerPublic(
            name=timer.name, label=spec.label if spec and spec.label else None,
            cycle=timer.cycle, calendar=timer.calendar, calendar_version=timer.calendar_version, started_at=timer.started_at, due_at=timer.due_at,
            state=timer.status, breached=lateness.timer_is_late(timer, now), level=timer.level,
            remaining_seconds=sla.remaining_seconds(session, timer, now), stopped_at=timer.stopped_at,
            working_seconds=timer.working_seconds,
        ))
    return out


def _entry(row: History, users: dict) -> HistoryEntryPublic:
    """One timeline entry: what the engine said on it (engine/notify/messages.py) in the caller's language."""
    said = messages.of(row.data)
    return HistoryEntryPublic(id=row.id, at=row.at, kind=row.kind, actor=users.get(row.actor_id), event=row.event,
                              from_=row.from_state, to=row.to_state, data=row.data or {},
                              comment=message_text(reading(), said, row.comment) if said else row.comment)


def detail(session: Session, order: WorkOrder, actor: Actor, now: datetime) -> WorkOrderPublic:
    """The work order with its timers, escalations and history: the same handful of queries for any history."""
    rows = workorders.history(session, order.id)
    users = usernames(session, _people(order) | {row.actor_id for row in rows})
    departments = _departments(session, {order.department_id})
    escalations = session.exec(select(Escalation).where(Escalation.work_order_id == order.id).order_by(Escalation.id)).all()
    return WorkOrderPublic(
        **_row(order, users, departments, timers_of(session, [order], now).get(order.id, []), _Places(session, [order])),
        caller=CallerPublic(name=order.caller_name, phone=order.caller_phone) if order.caller_name else None,
        available_events=workorders.available_events(session, order, actor),
        escalations=[EscalationPublic(level=e.level, fired_at=e.fired_at, recipients=e.recipients) for e in escalations],
        history=[_entry(row, users) for row in rows],
        origin=_origin(session, order, actor), follow_ups=[_linked(o) for o in follow_ups.of(session, actor, order.id)],
    )


def _linked(order: WorkOrder) -> LinkedOrderPublic:
    return LinkedOrderPublic(id=order.id, number=order.number, process=order.process, title=order.title,
                             state=order.state, closed=order.closed)


def _origin(session: Session, order: WorkOrder, actor: Actor) -> LinkedOrderPublic | None:
    origin = session.get(WorkOrder, order.origin_id) if order.origin_id is not None else None
    return _linked(origin) if origin is not None and visibility.can_see(actor, origin) else None
