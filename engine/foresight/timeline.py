"""A work order's SLA timers and escalations, replayed in memory from its steps.

The same rules as the live engine, by the same code: each timer run has the
attributes of the engine's `SlaTimer` row and is moved by the functions the
engine uses (engine/sla/timers.py), on calendars given instead of read from the
database. What the sweeper would have fired, it fires at the moment the rung
fell due (the live sweeper comes a few seconds later), before any step taken at
that same moment.

The demo history is written from it, the what-if replays a draft with it, and a
test checks it against what the live engine wrote for the same steps.
"""
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from engine.sla import timers as sla
from engine.sla.lateness import LIVE, timer_is_late
from workflows.calendars import BusinessCalendar
from workflows.schema import EscalationStep, ProcessDefinition, SlaTimerSpec, raised

Calendars = Callable[[str], BusinessCalendar]
EDIT = "update"  # the event of a step that edits the work order (its priority) without moving it


@dataclass(frozen=True)
class Step:
    """One recorded step: at `at`, `event` took the work order into `state` (event None: its creation;
    EDIT: an edit that left it in `state`). `priority` is a priority the step set (None: unchanged)."""

    at: datetime
    event: str | None
    state: str
    priority: str | None = None


@dataclass(slots=True)
class TimerRun:
    """A timer run as the replay keeps it: SlaTimer's attributes without a mapped row (a what-if or the demo
    history makes tens of thousands of them, and setting an attribute of a mapped object costs more than the
    timer rules)."""

    name: str
    cycle: int
    calendar: str
    target_minutes: float
    target_days: int
    started_at: datetime
    due_at: datetime
    status: str
    paused_seconds: float
    level: int
    breached: bool
    paused_at: datetime | None = None
    stopped_at: datetime | None = None
    working_seconds: float | None = None
    next_check_at: datetime | None = None


@dataclass(frozen=True)
class Rung:
    """A ladder rung that fired."""

    timer: str
    cycle: int
    level: int
    at: datetime
    notify: tuple[str, ...]
    raise_priority: bool = False


@dataclass
class Outcome:
    """What the steps did to the timers: every timer run (stopped or still live at `until`), the rungs that
    fired, and the priority the work order ends with (escalations may raise it)."""

    timers: list[TimerRun] = field(default_factory=list)
    rungs: list[Rung] = field(default_factory=list)
    priority: str = "normal"

    @property
    def escalation_level(self) -> int:
        return max((rung.level for rung in self.rungs if rung.level >= 1), default=0)


def replay(definition: ProcessDefinition, calendars: Calendars, *, priority: str, fields: dict,
           steps: list[Step], until: datetime) -> Outcome:
    """Run `steps` (in time order, the first the creation) through the definition's timers up to `until`."""
    return _Replay(definition, calendars, priority, fields).run(steps, until)


class _Replay:
    def __init__(self, definition: ProcessDefinition, calendars: Calendars, priority: str, fields: dict):
        self.definition, self.calendars, self.fields = definition, calendars, fields
        self.final = definition.final_states()
        self.outcome = Outcome(priority=priority)
        self.live: dict[str, TimerRun] = {}
        self.cycles: dict[str, int] = {}
        self.since: dict[int, datetime] = {}  # a live timer's rungs cannot fire before it (re)started

    def run(self, steps: list[Step], until: datetime) -> Outcome:
        for step in steps:
            if step.at > until:
                break
            self._sweep(step.at, inclusive=False)
            if step.priority is not None and step.priority != self.outcome.priority:
                self.outcome.priority = step.priority
                self._retarget(step.at)
            if step.event != EDIT:
                self._enter(step)
        self._sweep(until, inclusive=True)
        return self.outcome

    # --- the engine's on_enter, without a database -------------------------------------------------

    def _enter(self, step: Step) -> None:
        final = step.state in self.final
        for name, spec in self.definition.sla.items():
            timer = self.live.get(name)
            if timer is not None:
                sla.advance_on(lambda: self._cal(timer), timer, spec, step.state, step.event, final, step.at)
                if timer.status not in LIVE:
                    del self.live[name]
                elif timer.status == "running":
                    self.since[id(timer)] = step.at
            elif step.state in spec.start.states or step.event in spec.start.events:
                self._start(name, spec, step.at)

    def _start(self, name: str, spec: SlaTimerSpec, now: datetime) -> None:
        target = sla.target_for(spec, self.outcome.priority, self.fields)
        if target is None:
            return
        self.cycles[name] = self.cycles.get(name, 0) + 1
        timer = TimerRun(name=name, cycle=self.cycles[name], calendar=target.calendar,
                         target_minutes=target.within.minutes, target_days=target.within.days,
                         started_at=now, due_at=now, status="running", paused_seconds=0.0, level=-1,
                         breached=False)
        cal = self._cal(timer)
        timer.due_at = sla.due_on(cal, timer)
        timer.next_check_at = sla.next_check_on(cal, timer, spec)
        self.live[name] = timer
        self.since[id(timer)] = now
        self.outcome.timers.append(timer)

    def _retarget(self, now: datetime) -> None:
        """A new priority: live timers' due times from their start, as engine/sla/timers.retarget."""
        for timer in self.live.values():
            spec = self.definition.sla[timer.name]
            target = sla.target_for(spec, self.outcome.priority, self.fields)
            if target is None:
                continue
            timer.calendar, timer.target_minutes, timer.target_days = (
                target.calendar, target.within.minutes, target.within.days)
            cal = self._cal(timer)
            timer.due_at = sla.due_on(cal, timer)
            timer.next_check_at = sla.next_check_on(cal, timer, spec) if timer.status == "running" else None
            self.since[id(timer)] = max(self.since.get(id(timer), now), now)

    # --- the sweeper -------------------------------------------------------------------------------

    def _sweep(self, now: datetime, *, inclusive: bool) -> None:
        """Fire every rung that falls before `now` (or at it, when inclusive), earliest first."""
        while True:
            due = self._next_rung(now, inclusive)
            if due is None:
                return
            at, timer, step = due
            self._fire(timer, step, at)
        for timer in self.live.values():  # the sweeper marks a running timer breached once its due time has come
            if timer.status == "running" and (timer.due_at <= now if inclusive else timer.due_at < now):
                timer.breached = True

    def _next_rung(self, now: datetime, inclusive: bool) -> tuple[datetime, TimerRun, EscalationStep] | None:
        best = None
        for timer in self.live.values():
            if timer.status != "running":
                continue
            spec = self.definition.sla[timer.name]
            step = sla.next_rung(timer, spec)
            if step is None:
                continue
            at = max(sla.rung_on(self._cal(timer), timer, step), self.since[id(timer)])
            if (at <= now if inclusive else at < now) and (best is None or at < best[0]):
                best = (at, timer, step)
        return best

    def _fire(self, timer: TimerRun, step: EscalationStep, at: datetime) -> None:
        timer.level = step.level
        self.outcome.rungs.append(Rung(timer=timer.name, cycle=timer.cycle, level=step.level, at=at,
                                       notify=tuple(step.notify), raise_priority=step.raise_priority))
        if step.raise_priority:
            higher = raised(self.outcome.priority)
            if higher != self.outcome.priority:
                self.outcome.priority = higher
                self._retarget(at)
        if timer_is_late(timer, at):
            timer.breached = True
        timer.next_check_at = sla.next_check_on(self._cal(timer), timer, self.definition.sla[timer.name])

    def _cal(self, timer: TimerRun) -> BusinessCalendar:
        return self.calendars(timer.calendar)

