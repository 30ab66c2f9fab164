"""When the draft's replay of a work order must give what the replay in force gave, so it need not run.

A replay reads only the timers (their start, stop, pause, ladder and the targets of the priorities the work
order may have), the final states, the calendars and the steps. Where a draft changes none of those for a
work order (a shorter urgent target does not touch a normal repair that can at most be raised to high), its
outcome in force is its outcome under the draft: the what-if replays only the work the draft can change.
"""
from engine.foresight.timeline import EDIT, Step
from workflows.schema import PRIORITIES, ProcessDefinition, SlaTimerSpec


class Unchanged:
    """For one process: whether the draft's timers read like those in force for given priorities and fields."""

    def __init__(self, before: ProcessDefinition, after: ProcessDefinition):
        self.before, self.after = before, after
        same_shape = (before.final_states() == after.final_states() and list(before.sla) == list(after.sla)
                      and all(_rules(before.sla[name]) == _rules(after.sla[name]) for name in before.sla))
        self.possible = same_shape
        self.raising = max(sum(step.raise_priority for spec in d.sla.values() for step in spec.escalation)
                           for d in (before, after))  # raises per cycle of the timers
        self.restarts = {event for d in (before, after) for spec in d.sla.values() for event in spec.start.events}
        self._by_key: dict[tuple, bool] = {}

    def holds(self, priority: str, fields: dict, steps: list[Step]) -> bool:
        """Whether every target the work order may run to is the same in the draft."""
        if not self.possible:
            return False
        if self.before is self.after:
            return True
        reachable = {priority} | {step.priority for step in steps if step.event == EDIT and step.priority}
        if self.raising:
            raises = self.raising * (1 + sum(step.event in self.restarts for step in steps))
            reachable = {PRIORITIES[max(PRIORITIES.index(p) - n, 0)] for p in reachable if p in PRIORITIES
                         for n in range(raises + 1)} | reachable
        return all(self._same(name, p, fields) for name in self.before.sla for p in reachable)

    def _same(self, name: str, priority: str, fields: dict) -> bool:
        spec = self.before.sla[name]
        key = (name, fields.get(spec.target_field) if spec.target_field else priority)
        found = self._by_key.get(key)
        if found is None:
            found = self._by_key[key] = (_target(spec, key[1]) == _target(self.after.sla[name], key[1]))
        return found


def _rules(spec: SlaTimerSpec) -> tuple:
    return (spec.start, spec.stop, spec.pause, spec.target_field, spec.escalation)


def _target(spec: SlaTimerSpec, key):
    return spec.targets.get(key) if isinstance(key, str) else None
