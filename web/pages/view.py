"""Work orders as the pages show them: labels in the reader's language, names instead of ids, live timers.

Nothing here decides anything: states, labels and timers come from the
definition the work order runs on and from the engine's SLA functions.
"""
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session, select

from engine import calendar, definitions, directory, sla
from engine.models import Department, Escalation, SlaTimer, WorkOrder
from web.i18n import Translator
from workflows.schema import ProcessDefinition


@dataclass
class Timer:
    name: str
    label: str
    status: str
    due_at: datetime
    remaining_seconds: float | None
    late: bool
    ticking: bool  # the countdown moves now: running, and its calendar is open this minute


@dataclass
class Card:
    order: WorkOrder
    process: str
    state: str
    priority: str
    department: str
    reporter: str
    assignee: str
    first_contact: str
    timers: list[Timer] = field(default_factory=list)

    @property
    def late(self) -> bool:
        return any(timer.late for timer in self.timers)

    @property
    def next_timer(self) -> Timer | None:
        live = [timer for timer in self.timers if timer.remaining_seconds is not None]
        return min(live, key=lambda timer: timer.remaining_seconds) if live else None


def definition(session: Session, order: WorkOrder) -> ProcessDefinition:
    return definitions.compiled(session, order.process, order.definition_version).definition


def timers(session: Session, orders: list[WorkOrder], t: Translator, now: datetime,
           *, live_only: bool = True) -> dict[int, list[Timer]]:
    ids = [o.id for o in orders]
    if not ids:
        return {}
    query = select(SlaTimer).where(SlaTimer.work_order_id.in_(ids))
    if live_only:
        query = query.where(SlaTimer.status.in_(sla.LIVE))
    by_order = {o.id: o for o in orders}
    out: dict[int, list[Timer]] = {}
    for row in session.exec(query.order_by(SlaTimer.id)).all():
        spec = definition(session, by_order[row.work_order_id]).sla.get(row.name)
        out.setdefault(row.work_order_id, []).append(Timer(
            name=row.name, label=t.label(spec.label) if spec and spec.label else row.name, status=row.status,
            due_at=row.due_at, remaining_seconds=sla.remaining_seconds(session, row, now),
            late=sla.is_overdue(row, now) or row.status == "breached",
            ticking=row.status == "running" and _open_now(session, row, now),
        ))
    return out


def _open_now(session: Session, timer: SlaTimer, now: datetime) -> bool:
    try:
        return calendar.for_timer(session, timer).working_seconds(now, now + timedelta(minutes=1)) > 0
    except KeyError:  # a calendar removed since the timer started: show the figure, do not tick
        return False


def cards(session: Session, orders: list[WorkOrder], t: Translator, now: datetime) -> list[Card]:
    names = directory.display_names(session, {o.reporter_id for o in orders} | {o.assignee_id for o in orders}
                                    | {o.first_contact_id for o in orders})
    departments = dict(session.exec(select(Department.id, Department.name)).all()) if orders else {}
    clocks = timers(session, orders, t, now)
    out = []
    for order in orders:
        spec = definition(session, order)
        state = spec.states.get(order.state)
        out.append(Card(
            order=order, process=t.label(spec.title), state=t.label(state.label) if state else order.state,
            priority=t(f"priority.{order.priority}"), department=departments.get(order.department_id, ""),
            reporter=names.get(order.reporter_id, ""), assignee=names.get(order.assignee_id, ""),
            first_contact=names.get(order.first_contact_id, ""), timers=clocks.get(order.id, []),
        ))
    return out


def escalations(session: Session, orders: list[WorkOrder], t: Translator) -> dict[int, list[dict]]:
    """Each ladder rung that fired, by work order: which timer, which level, when, who was told."""
    if not orders:
        return {}
    by_id = {o.id: o for o in orders}
    rows = session.exec(
        select(Escalation, SlaTimer.name).join(SlaTimer, SlaTimer.id == Escalation.timer_id)
        .where(Escalation.work_order_id.in_(list(by_id))).order_by(Escalation.fired_at, Escalation.id)).all()
    out: dict[int, list[dict]] = {}
    for row, timer in rows:
        spec = definition(session, by_id[row.work_order_id]).sla.get(timer)
        out.setdefault(row.work_order_id, []).append({
            "timer": t.label(spec.label) if spec and spec.label else timer, "level": row.level, "at": row.fired_at,
            "recipients": directory.names_of(session, row.recipients)})
    return out
