"""Work orders as Houqin shows them (web.public models), for the API and the pages alike.

What they are shown with is read with them (engine/orders/shown.py): a list of work
orders costs one statement for its names, places and timers, one work order with a
history of any length two, never one query per row.
"""
from datetime import datetime

from sqlmodel import Session

from engine.notify import messages
from engine.orders import shown, workorders
from engine.orders.shown import Shown
from engine.people.users import Actor
from engine.sla import lateness, timers as sla
from engine.storage.models import History, WorkOrder
from web.i18n import message_text, reading
from web.public import (CallerPublic, EscalationPublic, HistoryEntryPublic, LinkedOrderPublic, TimerPublic, WorkOrderPublic,
                        RiskPublic, RiskReasonPublic, WorkOrderListItemPublic, WorkOrderRowPublic)


def _row(order: WorkOrder, found: Shown, timers: list[TimerPublic]) -> dict:
    return {
        "location_id": order.location_id, "place": found.place, "asset_id": order.asset_id, "asset": found.asset,
        "origin_id": order.origin_id, "id": order.id, "number": order.number, "process": order.process, "definition_version": order.definition_version,
        "version": order.version, "state": order.state, "priority": order.priority,
        "department": found.department, "location": order.location, "title": order.title,
        "description": order.description, "fields": order.fields,
        "reporter": found.reporter, "assignee": found.assignee,
        "first_contact": found.first_contact, "escalation_level": order.escalation_level,
        "reopen_count": order.reopen_count, "urge_count": order.urge_count, "urged_at": order.urged_at,
        "closed": order.closed, "auto_confirmed": order.auto_confirmed,
        "created_at": order.created_at, "updated_at": order.updated_at, "closed_at": order.closed_at,
        "sla": timers,
    }


def summaries(session: Session, orders: list[WorkOrder], now: datetime,
              found: dict[int, Shown] | None = None) -> list[WorkOrderRowPublic]:
    """Work orders as lists show them: one statement for their names, places and timers, whatever their number
    (none when `found` was read with them)."""
    found = found if found is not None else shown.of(session, orders)
    return [WorkOrderRowPublic(**_row(order, found[order.id], _timers(session, order, found[order.id], now)))
            for order in orders]


def list_items(session: Session, orders: list[WorkOrder], now: datetime, *, found: dict[int, Shown] | None = None,
               risks: dict[int, RiskPublic] | None = None) -> list[WorkOrderListItemPublic]:
    """`summaries` as GET /workorders lists them: with each one's risk when at-risk orders were asked for."""
    risks = risks or {}
    return [WorkOrderListItemPublic(**dict(row), risk=risks.get(row.id)) for row in summaries(session, orders, now, found)]


def risk_of(scored, t) -> RiskPublic:
    """An at-risk score as the API shows it, its reason in the caller's language (`t`, a web.i18n.Translator)."""
    found = scored.risk
    return RiskPublic(
        probability=round(found.probability, 4), timer=found.timer, threshold=scored.threshold,
        reason=RiskReasonPublic(text=t("risk.reason", percent=round(found.probability * 100)), group=found.group,
                                similar=found.similar, used=round(found.used, 4)))


def _timers(session: Session, order: WorkOrder, found: Shown, now: datetime) -> list[TimerPublic]:
    """The work order's SLA timers as shown: a supervisor's list shows what is late and by how much."""
    specs = workorders.definition_of(session, order).sla
    out = []
    for timer in found.timers:
        spec = specs.get(timer.name)
        out.append(TimerPublic(
            name=timer.name, label=spec.label if spec and spec.label else None,
            cycle=timer.cycle, calendar=timer.calendar, calendar_version=timer.calendar_version, started_at=timer.started_at, due_at=timer.due_at,
            state=timer.status, breached=lateness.timer_is_late(timer, now), level=timer.level,
            remaining_seconds=sla.remaining_seconds(session, timer, now), stopped_at=timer.stopped_at,
            working_seconds=timer.working_seconds,
        ))
    return out


def _entry(row: History, actor: str | None) -> HistoryEntryPublic:
    """One timeline entry: what the engine said on it (engine/notify/messages.py) in the caller's language."""
    said = messages.of(row.data)
    return HistoryEntryPublic(id=row.id, at=row.at, kind=row.kind, actor=actor, event=row.event,
                              from_=row.from_state, to=row.to_state, data=row.data or {},
                              comment=message_text(reading(), said, row.comment) if said else row.comment)


def detail(session: Session, order: WorkOrder, actor: Actor, now: datetime, found: Shown | None = None) -> WorkOrderPublic:
    """The work order with its timers, escalations and history: two statements for any history (one more for
    `found`, when the caller has not read it with the order), and whom `actor` is on duty for where it matters."""
    found = found or shown.of(session, [order], actor, detail=True)[order.id]
    timeline = shown.history(session, order.id)
    return WorkOrderPublic(
        **_row(order, found, _timers(session, order, found, now)),
        caller=CallerPublic(name=order.caller_name, phone=order.caller_phone) if order.caller_name else None,
        available_events=[t.name for t in workorders.available(session, order, actor, [row for row, _ in timeline])],
        escalations=[EscalationPublic(level=e["level"], fired_at=e["fired_at"], recipients=e["recipients"])
                     for e in found.escalations],
        history=[_entry(row, name) for row, name in timeline],
        origin=_linked(found.origin) if found.origin is not None else None,
        follow_ups=[_linked(o) for o in found.follow_ups],
    )


def _linked(order) -> LinkedOrderPublic:
    return LinkedOrderPublic(id=order.id, number=order.number, process=order.process, title=order.title,
                             state=order.state, closed=order.closed)
