"""What-if (模拟): the last months of real work replayed against a draft, beside the version in force.

Every work order filed in the window keeps its real arrival, its recorded path and its step durations (in
working time where a timer's working calendar governs the step: engine/foresight/layout.py). Each is
replayed twice with the engine's own timer rules (engine/foresight/timeline.py): under the processes and
calendars in force, and under the draft (a process of the same key, or a calendars file), its steps laid out
again where the draft moves them onto other calendars or routes the work to another team. A work order
whose recorded path the draft no longer allows (an event gone, leading elsewhere) stops at that step and is
counted as not replayable.

A discrete-event replay in memory: the same draft, window and seed give the same figures, and nothing is
written (the session is only read). Replaying the version in force on its own history gives back what the
engine recorded, which is what makes the draft's column worth reading.
"""
import calendar as months_calendar
from collections import OrderedDict
from datetime import datetime

from sqlmodel import Session, select

from engine.foresight import journeys as journeys_
from engine.foresight.drafts import Draft, in_force
from engine.foresight.figures import Tally
from engine.foresight.layout import TeamStretches, governing, lay_out, remembering, same
from engine.foresight.reuse import Unchanged
from engine.foresight.timeline import EDIT, Outcome, Step, replay
from engine.published import definitions
from engine.storage.models import Asset, Department, Team, WorkOrder
from workflows.dispatch import ASSET_TEAM, DispatchSpec
from workflows.schema import ProcessDefinition

MAX_MONTHS = 24
SHOWN_CHANGES = 500  # changed work orders listed (all are counted)


def months_before(now: datetime, months: int) -> datetime:
    """The same moment `months` calendar months earlier (the 31st falls back to the month's last day)."""
    year, month = divmod(now.year * 12 + now.month - 1 - months, 12)
    day = min(now.day, months_calendar.monthrange(year, month + 1)[1])
    return now.replace(year=year, month=month + 1, day=day)


def simulate(session: Session, draft: Draft, *, months: int = 6, seed: int = 0, now: datetime) -> dict:
    """Replay the work filed in the `months` before `now` under the processes in force and under `draft`."""
    if not 1 <= months <= MAX_MONTHS:
        raise ValueError(f"months must be from 1 to {MAX_MONTHS}")
    since = months_before(now, months)
    process = draft.definition.key if draft.definition is not None else None
    history = journeys_.load(session, since=since, until=now, process=process)
    current = {row.key: definitions.compiled(session, row.key, row.version).definition
               for row in definitions.current_rows(session)}
    calendars_now = in_force(session)
    before_cals = remembering(calendars_now)
    unmoved = draft.calendars is None or _same_calendars(calendars_now, draft.calendars)
    after_cals = before_cals if unmoved else remembering(draft.calendars)
    unchanged = {key: Unchanged(definition, draft.definition if draft.definition and draft.definition.key == key
                                else definition) for key, definition in current.items()}
    teams = dict(session.exec(select(Team.id, Team.name)).all())
    routing = _Routing(session, current, draft, since, now)

    before, after, stretches = Tally(), Tally(), TeamStretches()
    replayed = []
    for journey in history:
        definition = current.get(journey.process)
        if definition is None or not journey.steps:
            continue
        team = teams.get(journey.team_id)
        cut = _impossible(definition, journey.steps)
        steps = journey.steps[:cut]
        governed = governing(definition, before_cals, priority=journey.priority, fields=journey.fields,
                             steps=journey.steps)
        outcome = replay(definition, before_cals, priority=journey.priority, fields=journey.fields,
                         steps=steps, until=_until(journey.steps, cut, now)) if steps else Outcome(priority=journey.priority)
        before.add(definition, outcome, team, replayable=cut is None)
        stretches.add(team, journey.process, journey.category, steps, governed)
        replayed.append((journey, definition, governed, outcome, team))

    changes, shown = 0, []
    for journey, definition, governed, outcome, team in replayed:
        drafted = draft.definition or definition
        routed = routing.team(journey, definition, team)
        steps = journey.steps
        drawn = None
        if routed is not None and routed != team:
            drawn = stretches.draw(routed, journey.process, journey.category, steps, governed,
                                   seed=f"{seed}:{journey.id}")
        if drafted is definition and unmoved:
            moved = steps if drawn is None else lay_out(steps, governed, governed, drawn)
        else:
            moved = lay_out(steps, governed, governing(drafted, after_cals, priority=journey.priority,
                                                       fields=journey.fields, steps=steps), drawn)
        cut = _impossible(drafted, steps)
        kept = moved[:cut]
        if unmoved and moved is steps and cut == _impossible(definition, steps) and \
                unchanged[journey.process].holds(journey.priority, journey.fields, steps):
            result = outcome  # the draft changes nothing this work order's replay reads
        else:
            result = replay(drafted, after_cals, priority=journey.priority, fields=journey.fields, steps=kept,
                            until=_until(moved, cut, now)) if kept else Outcome(priority=journey.priority)
        team_after = routed if routing.active else team
        after.add(drafted, result, team_after, replayable=cut is None)
        change = _change(journey, outcome, result, team, team_after)
        if change is not None:
            changes += 1
            if len(shown) < SHOWN_CHANGES:
                shown.append(change)

    labels = _labels([*current.values(), *([draft.definition] if draft.definition else [])])
    return {
        "subject": {"kind": draft.kind, "process": process},
        "months": months, "seed": seed, "since": since.isoformat(), "until": now.isoformat(),
        "in_force": before.figures(labels),
        "draft": after.figures(labels),
        "changed": {"count": changes, "orders": shown},
    }


def _same_calendars(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(same(a[name], b[name]) for name in a)


def _impossible(definition: ProcessDefinition, steps: list[Step]) -> int | None:
    """The index of the first step the definition does not allow from where the work order stands (None: all)."""
    moves = _moves(definition)
    if not steps or steps[0].state != definition.initial_state:
        return 0
    state = steps[0].state
    for index in range(1, len(steps)):
        step = steps[index]
        if step.event == EDIT:
            continue
        if moves.get((state, step.event)) != step.state:
            return index
        state = step.state
    return None


_MOVES: dict[int, tuple[ProcessDefinition, dict]] = {}


def _moves(definition: ProcessDefinition) -> dict[tuple[str, str], str]:
    """(state, event) → the state the event leads to (the first declared, as the engine takes it), once per
    definition: asked for every step of every work order."""
    kept = _MOVES.get(id(definition))
    if kept is None or kept[0] is not definition:
        moves: dict[tuple[str, str], str] = {}
        for event in definition.events:
            for source in event.from_:
                moves.setdefault((source, event.name), event.to)
        kept = _MOVES[id(definition)] = (definition, moves)
        if len(_MOVES) > 64:
            _MOVES.clear()
            _MOVES[id(definition)] = kept
    return kept[1]


def _until(steps: list[Step], cut: int | None, now: datetime) -> datetime:
    """Where a replay ends: now, or the moment of the step that could not be taken (the work order stops there)."""
    return now if cut is None else min(steps[cut].at, now)


class _Routing:
    """Which team the draft's dispatch rules send a work order to, where they differ from those in force."""

    def __init__(self, session: Session, current: dict[str, ProcessDefinition], draft: Draft, since, until):
        drafted = draft.definition
        self.active = drafted is not None and drafted.dispatch != (current.get(drafted.key).dispatch
                                                                   if drafted.key in current else None)
        self.spec: DispatchSpec | None = drafted.dispatch if self.active else None
        self.facts: dict[int, tuple] = {}
        self.departments: dict[int, str] = {}
        if self.active:
            self.departments = dict(session.exec(select(Department.id, Department.name)).all())
            rows = session.exec(
                select(WorkOrder.id, WorkOrder.location, Asset.asset_class, Team.name)
                .join(Asset, Asset.id == WorkOrder.asset_id, isouter=True)
                .join(Team, Team.id == Asset.team_id, isouter=True)
                .where(WorkOrder.process == drafted.key, WorkOrder.created_at >= since, WorkOrder.created_at < until)
            ).all()
            self.facts = {order_id: (location, asset_class, asset_team) for order_id, location, asset_class, asset_team in rows}

    def team(self, journey, definition: ProcessDefinition, recorded: str | None) -> str | None:
        """The team the draft sends it to when its rules pick another team than those in force; else `recorded`."""
        if not self.active:
            return recorded
        location, asset_class, asset_team = self.facts.get(journey.id, ("", None, None))
        facts = {**journey.fields, "priority": journey.priority, "department": self.departments.get(journey.department_id),
                 "location": location or "", "asset_class": asset_class, "asset_team": asset_team}
        old, new = _team_of(definition.dispatch, facts), _team_of(self.spec, facts)
        return recorded if old == new else new


def _team_of(spec: DispatchSpec | None, facts: dict) -> str | None:
    if spec is None:
        return None
    _, rule = spec.choose(facts)
    return facts.get("asset_team") if rule.team == ASSET_TEAM else rule.team


def _change(journey, before: Outcome, after: Outcome, team_before: str | None, team_after: str | None) -> dict | None:
    timers = []
    names = list(OrderedDict.fromkeys([t.name for t in before.timers] + [t.name for t in after.timers]))
    for name in names:
        was = [_status(t) for t in before.timers if t.name == name]
        now = [_status(t) for t in after.timers if t.name == name]
        levels_before = {rung.level for rung in before.rungs if rung.timer == name}
        levels_after = {rung.level for rung in after.rungs if rung.timer == name}
        if was != now or levels_before != levels_after:
            timers.append({"timer": name, "before": _joined(was), "after": _joined(now),
                           "new_levels": sorted(levels_after - levels_before),
                           "dropped_levels": sorted(levels_before - levels_after)})
    if not timers and team_before == team_after:
        return None
    return {"id": journey.id, "number": journey.number, "process": journey.process, "priority": journey.priority,
            "timers": timers, "team_before": team_before, "team_after": team_after}


def _status(timer) -> str:
    if timer.status in ("met", "cancelled"):
        return timer.status
    if timer.status == "breached" or timer.breached:
        return "breached"
    return "open"


def _joined(statuses: list[str]) -> str:
    return ", ".join(statuses) if statuses else "none"


def _labels(processes: list[ProcessDefinition]) -> dict[tuple[str, str], dict]:
    return {(d.key, name): spec.label.model_dump() for d in processes for name, spec in d.sla.items() if spec.label}
