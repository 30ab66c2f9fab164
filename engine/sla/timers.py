"""SLA timers: started, paused, resumed and stopped as a work order moves.

Each timer is a row with its due time computed once, on its business calendar,
when it starts (and again only when a pause ends or the priority changes), so
the sweeper finds what is late with an indexed query instead of recomputing.
`next_check_at` is when the sweeper must next look: the next ladder rung still to
fire, or the due time when the timer has yet to be marked breached.

A timer computes on the calendars version it started on (`calendar_version`,
engine/sla/calendar.py): a newer calendars.yaml moves no running deadline until
`houqin sla recompute` says so. Ladder times (`80%`, `due + 30m`) and targets are
read from the definition already parsed, never from text.
"""
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import bindparam
from sqlmodel import Session, select

from engine.sla import calendar
from engine.sla.calendar import BusinessCalendar
from engine.sla.lateness import LIVE, timer_is_late
from engine.storage.models import SlaTimer, WorkOrder
from engine.storage.unit_of_work import reading
from workflows.schema import EscalationStep, ProcessDefinition, SlaTimerSpec

# A step that may move a timer reads them: the statements are built once, since composing a select
# costs more Python than SQLite takes to run it (bench/transitions.py).
_LIVE_TIMERS = select(SlaTimer).where(SlaTimer.work_order_id == bindparam("order_id"), SlaTimer.status.in_(LIVE))
_ALL_TIMERS = select(SlaTimer).where(SlaTimer.work_order_id == bindparam("order_id"))


def live_timers(session: Session, order_id: int) -> list[SlaTimer]:
    with reading(session, SlaTimer):
        return list(session.exec(_LIVE_TIMERS, params={"order_id": order_id}).all())


def of_order(session: Session, order_id: int) -> list[SlaTimer]:
    """Every timer row of the work order, ended ones and offers too: a step reads them once for its live timers,
    the cycle a restarted timer takes and a pending offer (a few rows: one per timer per round of rework)."""
    with reading(session, SlaTimer):
        return list(session.exec(_ALL_TIMERS, params={"order_id": order_id}).all())


def on_enter(session: Session, order: WorkOrder, definition: ProcessDefinition, *, event: str | None, now: datetime,
             timers: list[SlaTimer]) -> None:
    """Bring every timer of `order` in line with the state it has just entered (via `event`). `timers`: all of
    its timer rows (`of_order`; none for a work order just created, or where the step moves no timer)."""
    live = {timer.name: timer for timer in timers if timer.status in LIVE}
    final = order.state in definition.final_states()
    newest = None
    for name, spec in definition.sla.items():
        timer = live.get(name)
        if timer is not None:
            _advance(session, timer, spec, order.state, event, final, now)
            session.add(timer)
            if timer.status == "breached":
                order.deadline_missed = True  # the cockpit's count of work orders that missed a deadline
        elif order.state in spec.start.states or event in spec.start.events:
            newest = newest if newest is not None else calendar.newest(session)
            cycle = max((timer.cycle for timer in timers if timer.name == name), default=0) + 1
            started = _start(session, order, name, spec, now, newest, cycle)
            if started is not None:
                session.add(started)
                timers.append(started)


def _advance(session: Session, timer: SlaTimer, spec: SlaTimerSpec, state: str, event: str | None, final: bool,
             now: datetime) -> None:
    advance_on(lambda: _calendar(session, timer), timer, spec, state, event, final, now)


def advance_on(cal: Callable[[], BusinessCalendar], timer: SlaTimer, spec: SlaTimerSpec, state: str,
               event: str | None, final: bool, now: datetime) -> None:
    """A live timer as its work order enters `state` via `event`: stopped, paused, resumed or left running.
    `cal` gives the timer's calendar, looked up only when a change needs it."""
    if state in spec.stop.states or event in spec.stop.events:
        stop_on(cal(), timer, "breached" if timer_is_late(timer, now) else "met", now)
    elif final:
        stop_on(cal(), timer, "cancelled", now)
    elif state in spec.pause and timer.status == "running":
        timer.status, timer.paused_at, timer.next_check_at = "paused", now, None
    elif state not in spec.pause and timer.status == "paused":
        resume_on(cal(), timer, spec, now)


def _start(session: Session, order: WorkOrder, name: str, spec: SlaTimerSpec, now: datetime,
           calendar_version: int | None, cycle: int) -> SlaTimer | None:
    target = _target(order, spec)
    if target is None:
        return None  # the field the target depends on is not filled in: nothing to measure against
    timer = SlaTimer(
        work_order_id=order.id, name=name, cycle=cycle, calendar=target.calendar,
        calendar_version=calendar_version, target_minutes=target.within.minutes, target_days=target.within.days,
        started_at=now, due_at=now,
    )
    timer.due_at = _due(session, timer)
    timer.next_check_at = next_check(session, timer, spec)
    return timer


def _target(order: WorkOrder, spec: SlaTimerSpec):
    return target_for(spec, order.priority, order.fields)


def target_for(spec: SlaTimerSpec, priority: str, fields: dict):
    """The target a timer runs to for this priority (or target field); None when it has none."""
    key = fields.get(spec.target_field) if spec.target_field else priority
    return spec.targets.get(key) if isinstance(key, str) else None


def _calendar(session: Session, timer: SlaTimer) -> BusinessCalendar:
    return calendar.for_timer(session, timer)


def _due(session: Session, timer: SlaTimer) -> datetime:
    return due_on(_calendar(session, timer), timer)


def due_on(cal: BusinessCalendar, timer: SlaTimer) -> datetime:
    """Start + target on the calendar, pushed out by the working time spent paused."""
    due = cal.add(timer.started_at, minutes=timer.target_minutes, working_days=timer.target_days)
    if timer.paused_seconds:
        due = cal.add(due, minutes=timer.paused_seconds / 60)
    return due


def _resume(session: Session, timer: SlaTimer, spec: SlaTimerSpec, now: datetime) -> None:
    resume_on(_calendar(session, timer), timer, spec, now)


def resume_on(cal: BusinessCalendar, timer: SlaTimer, spec: SlaTimerSpec, now: datetime) -> None:
    timer.paused_seconds += cal.working_seconds(timer.paused_at, now)
    timer.status, timer.paused_at = "running", None
    timer.due_at = due_on(cal, timer)
    timer.next_check_at = next_check_on(cal, timer, spec)


def _stop(session: Session, timer: SlaTimer, status: str, now: datetime) -> None:
    stop_on(_calendar(session, timer), timer, status, now)


def stop_on(cal: BusinessCalendar, timer: SlaTimer, status: str, now: datetime) -> None:
    if timer.status == "paused":
        timer.paused_seconds += cal.working_seconds(timer.paused_at, now)
    timer.working_seconds = cal.working_seconds(timer.started_at, now) - timer.paused_seconds
    timer.status, timer.stopped_at, timer.paused_at, timer.next_check_at = status, now, None, None
    timer.breached = status == "breached"


def retarget(session: Session, order: WorkOrder, definition: ProcessDefinition) -> None:
    """After a priority (or target field) change, recompute live timers from their start, on the
    calendars version each already runs on."""
    for timer in live_timers(session, order.id):
        spec = definition.sla.get(timer.name)
        target = _target(order, spec) if spec else None
        if target is None:
            continue
        if target.calendar not in calendar.calendars(session, timer.calendar_version):
            # A calendar its version does not know (defined since): the new target starts on the newest.
            timer.calendar_version = calendar.newest(session)
        timer.calendar, timer.target_minutes, timer.target_days = target.calendar, target.within.minutes, target.within.days
        timer.due_at = _due(session, timer)
        timer.next_check_at = next_check(session, timer, spec) if timer.status == "running" else None
        session.add(timer)


def recomputed(session: Session, timer: SlaTimer, spec: SlaTimerSpec | None, now: datetime) -> None:
    """After `timer.calendar_version` changed (engine/calendar.recompute): its due time, breach and next check."""
    timer.due_at = _due(session, timer)
    if timer.status == "running":
        timer.breached = timer.breached and now >= timer.due_at  # a later deadline is not missed yet
        timer.next_check_at = next_check(session, timer, spec) if spec is not None else None


def rung_time(session: Session, timer: SlaTimer, step: EscalationStep) -> datetime:
    return rung_on(_calendar(session, timer), timer, step)


def rung_on(cal: BusinessCalendar, timer: SlaTimer, step: EscalationStep) -> datetime:
    """When a ladder rung (`80%`, `due`, `due + 30m`) falls for this timer, in its calendar."""
    when = step.time
    if when.fraction is not None:
        budget = cal.working_seconds(timer.started_at, _due_unpaused(cal, timer))
        return cal.add(timer.started_at, minutes=(budget * when.fraction + timer.paused_seconds) / 60)
    offset = when.shift
    if not offset.negative:
        return cal.after(timer.due_at, offset)
    budget = cal.working_seconds(timer.started_at, _due_unpaused(cal, timer))
    early = -offset.minutes * 60  # negative day offsets are read as that many 24h of open time
    early += -offset.days * 86400
    return cal.add(timer.started_at, minutes=max(budget - early, 0) / 60 + timer.paused_seconds / 60)


def _due_unpaused(cal: BusinessCalendar, timer: SlaTimer) -> datetime:
    return cal.add(timer.started_at, minutes=timer.target_minutes, working_days=timer.target_days)


def next_check(session: Session, timer: SlaTimer, spec: SlaTimerSpec) -> datetime | None:
    """When the sweeper must look again: the first rung above the level already fired, or the due
    time if that comes first and the timer is not yet marked breached; None when nothing is left."""
    return next_check_on(_calendar(session, timer), timer, spec)


def next_check_on(cal: BusinessCalendar, timer: SlaTimer, spec: SlaTimerSpec) -> datetime | None:
    step = next_rung(timer, spec)
    times = [rung_on(cal, timer, step)] if step else []
    if not timer.breached:
        times.append(timer.due_at)
    return min(times, default=None)


def next_rung(timer: SlaTimer, spec: SlaTimerSpec) -> EscalationStep | None:
    """The first ladder rung at a time (`80%`, `due + 30m`) above the level already fired, or None. A rung
    at a risk has no time: the sweeper fires it from the at-risk scores, and it leaves `level` alone."""
    return next((step for step in spec.escalation if step.level > timer.level and step.time.risk is None), None)


def remaining_seconds(session: Session, timer: SlaTimer, now: datetime) -> float | None:
    """Working time left before the due time (negative once late); None for a stopped timer."""
    if timer.status not in LIVE:
        return None
    cal = _calendar(session, timer)
    reference = timer.paused_at if timer.status == "paused" else now
    if reference <= timer.due_at:
        return cal.working_seconds(reference, timer.due_at)
    return -cal.working_seconds(timer.due_at, reference)
