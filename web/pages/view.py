"""Work orders as the pages show them: the API's public models (web.public), put in the reader's words.

Nothing here decides anything and nothing is read twice: a card is a
`WorkOrderRowPublic` with its labels translated and its people's display names,
the order page a `WorkOrderPublic`; lateness is the models' (engine.sla.lateness).
Names are looked up in one batch per page, whatever the number of cards or
history entries.
"""
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session, select

from engine.dispatch import offers
from engine.people import directory
from engine.published import definitions
from engine.sla import calendar
from engine.sla.lateness import LIVE
from engine.storage.models import Escalation, SlaTimer, WorkOrder
from web.api import present
from web.i18n import Translator
from web.public import TimerPublic, WorkOrderRowPublic
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
    working: bool  # its calendar keeps working hours, so its durations are working time, and say so
    left: str  # what the countdown says before the page's script takes over ("剩余 1小时 20分（工作时间）")
    took: str  # how long a stopped timer ran ("用时 45分（工作时间）"), or ""


@dataclass
class Card:
    order: WorkOrderRowPublic
    row: WorkOrder  # the stored work order, for what the engine decides (the events the viewer may fire)
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


def timer(session: Session, shown: TimerPublic, t: Translator, now: datetime) -> Timer:
    clock = _calendar(session, shown)
    working = clock is not None and not clock.always_open
    remaining, spent = shown.remaining_seconds, shown.working_seconds
    stopped_sla = remaining is None and spent is not None and shown.name != offers.OFFER
    return Timer(
        name=shown.name, label=_label(shown, t), status=shown.state, due_at=shown.due_at, remaining_seconds=remaining,
        late=shown.breached, working=working,
        ticking=shown.state == "running" and clock is not None and _open_at(clock, now),
        left=countdown(remaining, t, working=working, late=shown.breached, paused=shown.state == "paused")
        if remaining is not None else "",
        took=t("timer.took", span=duration(spent, t, working=working)) if stopped_sla else "",
    )


def _open_at(clock: calendar.BusinessCalendar, now: datetime) -> bool:
    return clock.working_seconds(now, now + timedelta(minutes=1)) > 0


def _label(shown: TimerPublic, t: Translator) -> str:
    if shown.label:
        return t.label(shown.label)
    return t("timer.offer") if shown.name == offers.OFFER else shown.name


def _calendar(session: Session, timer: TimerPublic) -> calendar.BusinessCalendar | None:
    try:
        return calendar.for_timer(session, timer)
    except KeyError:  # a calendar removed since the timer started: show the figure, do not tick
        return None


def duration(seconds: float, t: Translator, *, working: bool) -> str:
    """A span as people say it: days and hours, hours and minutes, or minutes. Working time is counted in hours
    (a "day" of working time is no day anyone lives) and said to be working time. houqin.js says the same."""
    s = abs(round(seconds))
    days, hours, minutes = (0, s // 3600, s % 3600 // 60) if working else (s // 86400, s % 86400 // 3600, s % 3600 // 60)
    if days:
        text = f"{days}{t('timer.d')} {hours}{t('timer.h')}"
    elif hours:
        text = f"{hours}{t('timer.h')} {minutes}{t('timer.m')}"
    else:
        text = f"{minutes}{t('timer.m')}"
    return text + t("timer.working") if working else text


def countdown(remaining: float, t: Translator, *, working: bool, late: bool, paused: bool) -> str:
    """What is left, or how late it is: "剩余 1小时 20分（工作时间）", "已超时 2天 3小时"."""
    text = f"{t('timer.late') if late or remaining < 0 else t('timer.left')} {duration(remaining, t, working=working)}"
    return f"{text} · {t('timer.paused')}" if paused else text


def card(session: Session, row: WorkOrder, shown: WorkOrderRowPublic, names: dict, t: Translator,
         now: datetime, *, live_only: bool = True) -> Card:
    spec = definition(session, row)
    state = spec.states.get(row.state)
    return Card(
        order=shown, row=row, process=t.label(spec.title), state=t.label(state.label) if state else row.state,
        priority=t(f"priority.{row.priority}"), department=shown.department or "",
        reporter=names.get(row.reporter_id, ""), assignee=names.get(row.assignee_id, ""),
        first_contact=names.get(row.first_contact_id, ""),
        timers=[timer(session, x, t, now) for x in shown.sla if not live_only or x.state in LIVE],
    )


def cards(session: Session, orders: list[WorkOrder], t: Translator, now: datetime) -> list[Card]:
    names = directory.display_names(session, {o.reporter_id for o in orders} | {o.assignee_id for o in orders}
                                    | {o.first_contact_id for o in orders})
    return [card(session, row, shown, names, t, now) for row, shown in zip(orders, present.summaries(session, orders, now))]


def escalations(session: Session, orders: list[WorkOrder], t: Translator) -> dict[int, list[dict]]:
    """Each ladder rung that fired, by work order: which timer, which level, when, who was told."""
    if not orders:
        return {}
    by_id = {o.id: o for o in orders}
    rows = session.exec(
        select(Escalation, SlaTimer.name).join(SlaTimer, SlaTimer.id == Escalation.timer_id)
        .where(Escalation.work_order_id.in_(list(by_id))).order_by(Escalation.fired_at, Escalation.id)).all()
    names = directory.name_map(session, [person for row, _ in rows for person in row.recipients])
    out: dict[int, list[dict]] = {}
    for row, timer_name in rows:
        spec = definition(session, by_id[row.work_order_id]).sla.get(timer_name)
        out.setdefault(row.work_order_id, []).append({
            "timer": t.label(spec.label) if spec and spec.label else timer_name, "level": row.level,
            "at": row.fired_at, "recipients": [names.get(p, str(p)) for p in row.recipients]})
    return out
