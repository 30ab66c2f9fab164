"""Laying a recorded journey's steps out again under a draft: the same work, in working time.

Each stretch between two steps is governed by the first of the process's timers running through it (in the
order the definition declares them), and runs on that timer's calendar; a stretch no timer runs through (a
pause, the wait for the requester's verdict) is governed by none and keeps its wall-clock length. A stretch
is measured on the calendar governing it in force and, where the draft governs it by another calendar (a
changed target calendar, changed opening hours), the same working time is laid out on the draft's calendar
from where the previous step now falls. Until something moves, steps keep their recorded times exactly, so
a draft that changes nothing replays the history as it happened.

The timers followed here move with the steps and the priority as filed or edited; a priority an escalation
raised is not followed (which calendar governs a stretch is decided before the replay fires any rung).

A work order the draft routes to another team takes, for each stretch its timers govern, a working time
drawn from that team's own stretches (same process, category, state and event; the same process, state and
event when the category has none), seeded by the work order so that a run is the same whatever the order of
the work.
"""
import random
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

from engine.foresight.timeline import EDIT, Step
from engine.sla.timers import target_for
from workflows.calendars import BusinessCalendar
from workflows.schema import ProcessDefinition

Calendars = Callable[[str], BusinessCalendar]


def governing(definition: ProcessDefinition, calendars: Calendars, *, priority: str, fields: dict,
              steps: list[Step]) -> list[BusinessCalendar | None]:
    """For each step, the calendar governing the stretch that follows it (None: no timer runs through it)."""
    final = definition.final_states()
    running: dict[str, str] = {}  # timer → "running" or "paused"
    out = []
    for step in steps:
        if step.priority is not None:
            priority = step.priority
        if step.event != EDIT:
            for name, spec in definition.sla.items():
                status = running.get(name)
                if status is not None:
                    if step.state in spec.stop.states or step.event in spec.stop.events or step.state in final:
                        del running[name]
                    else:
                        running[name] = "paused" if step.state in spec.pause else "running"
                elif (step.state in spec.start.states or step.event in spec.start.events) and \
                        target_for(spec, priority, fields) is not None:
                    running[name] = "paused" if step.state in spec.pause else "running"
        name = next((name for name in definition.sla if running.get(name) == "running"), None)
        target = target_for(definition.sla[name], priority, fields) if name else None
        out.append(calendars(target.calendar) if target else None)
    return out


def same(a: BusinessCalendar | None, b: BusinessCalendar | None) -> bool:
    """Whether two calendars open the same hours (two versions of one calendars file hold distinct objects)."""
    if a is b:
        return True
    if a is None or b is None:
        return False
    return _shape(a) == _shape(b)


def _shape(cal: BusinessCalendar) -> tuple:
    cal = getattr(cal, "calendar", cal)
    return (cal.timezone.key, cal.always_open, tuple(sorted(cal.hours.items())), cal.chinese_holidays,
            cal.extra_holidays, cal.extra_workdays, cal.workday_hours_from)


def measured(cal: BusinessCalendar | None, start: datetime, end: datetime) -> float:
    """A stretch's length: working seconds on its calendar, wall-clock seconds when none governs it."""
    return cal.working_seconds(start, end) if cal is not None else max((end - start).total_seconds(), 0.0)


def laid(cal: BusinessCalendar | None, start: datetime, seconds: float) -> datetime:
    return cal.add(start, minutes=seconds / 60) if cal is not None else start + timedelta(seconds=seconds)


def lay_out(steps: list[Step], before: list[BusinessCalendar | None], after: list[BusinessCalendar | None],
            drawn: list[float | None] | None = None) -> list[Step]:
    """The steps at the times the draft puts them. `before`/`after`: the calendar governing the stretch after
    each step in force and in the draft; `drawn`: a working time for a stretch that takes another team's
    (None: its own)."""
    out = [steps[0]]
    moved = False
    for i in range(1, len(steps)):
        previous, step = steps[i - 1], steps[i]
        old, new = before[i - 1], after[i - 1]
        other = drawn[i - 1] if drawn is not None else None
        if other is not None:
            at = laid(new if new is not None else old, out[-1].at, other)
        elif not moved and same(old, new):
            at = step.at
        elif same(old, new) and old is None:
            at = out[-1].at + (step.at - previous.at)
        else:
            at = laid(new, out[-1].at, measured(old, previous.at, step.at))
        moved = moved or at != step.at
        out.append(step if at == step.at else Step(at=at, event=step.event, state=step.state, priority=step.priority))
    return out if moved else steps  # the very list when nothing moved: the replay in force stands


class TeamStretches:
    """Working times of each team's governed stretches, to draw from for work routed to that team."""

    def __init__(self):
        self.pools: dict[tuple, list[float]] = defaultdict(list)

    def add(self, team: str | None, process: str, category, steps: list[Step],
            governed: list[BusinessCalendar | None]) -> None:
        if team is None:
            return
        for i in range(1, len(steps)):
            cal = governed[i - 1]
            if cal is None or steps[i].event == EDIT:
                continue
            seconds = cal.working_seconds(steps[i - 1].at, steps[i].at)
            key = (team, process, steps[i - 1].state, steps[i].event)
            self.pools[(*key, str(category))].append(seconds)
            self.pools[key].append(seconds)

    def draw(self, team: str, process: str, category, steps: list[Step], governed: list[BusinessCalendar | None],
             seed: str) -> list[float | None]:
        """For each stretch, a working time from `team`'s (None where it keeps its own: ungoverned, or the team
        has no such stretch on record)."""
        rng = random.Random(seed)
        out: list[float | None] = []
        for i in range(1, len(steps)):
            key = (team, process, steps[i - 1].state, steps[i].event)
            pool = self.pools.get((*key, str(category))) or self.pools.get(key)
            if governed[i - 1] is None or steps[i].event == EDIT or not pool:
                out.append(None)
            else:
                out.append(rng.choice(pool))
        return out


class Remembered:
    """A calendar that remembers its answers. A replay asks the same questions again and again (a timer's
    budget and rung times at every step; the same timer on both sides of a what-if); the arithmetic walks
    day by day, a dictionary does not. Anything else is the calendar's own."""

    def __init__(self, calendar: BusinessCalendar):
        self.calendar = calendar
        self._added: dict[tuple, datetime] = {}
        self._worked: dict[tuple, float] = {}

    def add(self, start: datetime, *, minutes: float = 0, working_days: int = 0) -> datetime:
        key = (start, minutes, working_days)
        found = self._added.get(key)
        if found is None:
            found = self._added[key] = self.calendar.add(start, minutes=minutes, working_days=working_days)
        return found

    def after(self, start: datetime, span) -> datetime:
        return self.add(start, minutes=span.minutes, working_days=span.days)

    def working_seconds(self, start: datetime, end: datetime) -> float:
        key = (start, end)
        found = self._worked.get(key)
        if found is None:
            found = self._worked[key] = self.calendar.working_seconds(start, end)
        return found

    def __getattr__(self, name):
        return getattr(self.calendar, name)


def remembering(table: dict[str, BusinessCalendar]) -> Calendars:
    """Calendar lookup by name over `table`, each calendar remembering its answers (layout.Remembered)."""
    from workflows.calendars import pick

    kept = {name: Remembered(cal) for name, cal in table.items()}
    return lambda name: pick(kept, name)
