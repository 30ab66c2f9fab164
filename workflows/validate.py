"""Semantic checks: what pydantic cannot see because it spans several parts of a file."""
from collections import deque

from workflows import conditions
from workflows.calls import check_calls
from workflows.dispatch import check_dispatch
from workflows.errors import Problem
from workflows.loader import Located
from workflows.schema import (DEPARTMENT_SCOPE, FILED_BY, NOTIFY_WORDS, PRIORITIES, PSEUDO_ROLES, ROLES, ProcessDefinition,
                              Recipient, name_problem)

# Names a condition may use besides the process's own fields.
BUILTIN_NAMES = {"priority", "department", "location"}


def semantic_problems(definition: ProcessDefinition, located: Located, calendars: set[str] | None = None) -> list[Problem]:
    checks = _Checks(definition, located, calendars)
    checks.states()
    checks.events()
    checks.reachability()
    checks.sla()
    checks.feedback()
    checks.ledger()
    checks.reporting()
    checks.notify_reporter()
    check_dispatch(definition, checks.report)
    check_calls(definition, checks.report)
    return checks.problems


class _Checks:
    def __init__(self, definition: ProcessDefinition, located: Located, calendars: set[str] | None):
        self.d = definition
        self.located = located
        self.calendars = calendars
        self.problems: list[Problem] = []

    def report(self, path: tuple, message: str, code: str | None = None, **params) -> None:
        """A problem at `path`: `message` in English (the command line's), `code` and `params` for the catalogue."""
        self.problems.append(self.located.problem(path, message, code, **params))

    def state_known(self, name: str, path: tuple) -> None:
        if name not in self.d.states:
            self.report(path, f"unknown state '{name}': declare it under 'states' or fix the spelling",
                        "definition_unknown_state", name=name)

    def states(self) -> None:
        for name in self.d.states:
            problem = name_problem(name, "state")
            if problem:
                self.report(("states", name), str(problem), problem.type, **problem.context)
        initial = [name for name, state in self.d.states.items() if state.initial]
        if len(initial) != 1:
            self.report(("states",), f"exactly one state must be 'initial: true' (found {len(initial)})",
                        "definition_initial_states", count=len(initial))
        if not self.d.final_states():
            self.report(("states",), "at least one state must be 'final: true'", "definition_no_final_state")

    def events(self) -> None:
        seen: dict[tuple[str, str], int] = {}
        names = set(self.d.event_names())
        for index, event in enumerate(self.d.events):
            path = ("events", index)
            for position, source in enumerate(event.from_):
                self.state_known(source, (*path, "from", position))
                if (event.name, source) in seen:
                    self.report((*path, "name"), f"event '{event.name}' is declared twice from state '{source}'",
                                "definition_event_twice", event=event.name, state=source)
                seen[(event.name, source)] = index
            self.state_known(event.to, (*path, "to"))
            for position, role in enumerate(event.roles):
                self.role_known(role, (*path, "roles", position))
            if not event.roles:
                self.report((*path, "roles"), f"event '{event.name}' names no role that may fire it",
                            "definition_event_no_roles", event=event.name)
            for field in event.fields:
                if field not in self.d.fields:
                    self.report((*path, "fields", field), f"event '{event.name}' uses field '{field}', which is not "
                                "declared under 'fields'", "definition_event_unknown_field", event=event.name, name=field)
            if event.name == FILED_BY:
                self.report((*path, "name"), f"'{FILED_BY}' is not an event name: in distinct_from it means "
                                             "who filed the work order", "definition_filed_by_event", name=FILED_BY)
            for position, other in enumerate(event.distinct_from):
                if other not in names and other != FILED_BY:
                    self.report((*path, "distinct_from", position),
                                f"unknown event '{other}' in distinct_from: name an event, or '{FILED_BY}' "
                                "for who filed the work order", "definition_distinct_from_unknown", event=other,
                                filed_by=FILED_BY)
            if event.condition is not None:
                self.condition(event.condition, (*path, "condition"))

    def role_known(self, role: str, path: tuple) -> None:
        base = role.removesuffix(DEPARTMENT_SCOPE)
        if base in ROLES or (role in PSEUDO_ROLES):
            return
        self.report(path, f"unknown role '{role}': use one of {', '.join(ROLES + PSEUDO_ROLES)} "
                          f"(a role may end in '{DEPARTMENT_SCOPE}' to mean the work order's department)",
                    "definition_unknown_role", role=role, roles=list(ROLES + PSEUDO_ROLES))

    def condition(self, source: str, path: tuple) -> None:
        try:
            parsed = conditions.parse(source)
        except conditions.ConditionSyntaxError as exc:
            line, column = self.located.position(path)
            self.problems.append(Problem(self.located.file, line, column + exc.offset, str(exc), exc.code, exc.params))
            return
        for name in sorted(parsed.names() - set(self.d.fields) - BUILTIN_NAMES):
            self.report(path, f"condition '{source}' uses '{name}', which is not a declared field",
                        "definition_condition_unknown_field", condition=source, name=name)

    def reachability(self) -> None:
        if not any(state.initial for state in self.d.states.values()):
            return
        reached, queue = {self.d.initial_state}, deque([self.d.initial_state])
        while queue:
            for event in self.d.events_from(queue.popleft()):
                if event.to not in reached:
                    reached.add(event.to)
                    queue.append(event.to)
        # A misspelt target already has its own error; calling everything behind it unreachable
        # would bury that one real mistake under a cascade.
        misspelt = any(event.to not in self.d.states for event in self.d.events)
        for name, state in self.d.states.items():
            if name not in reached and not misspelt:
                self.report(("states", name), f"state '{name}' cannot be reached from the initial state "
                            f"'{self.d.initial_state}'", "definition_unreachable_state", name=name,
                            initial=self.d.initial_state)
            elif not state.final and not self.d.events_from(name):
                self.report(("states", name), f"state '{name}' is not final but no event leads out of it",
                            "definition_dead_end", name=name)

    def sla(self) -> None:
        for timer_name, timer in self.d.sla.items():
            path = ("sla", timer_name)
            for part in ("start", "stop"):
                bounds = getattr(timer, part)
                for i, state in enumerate(bounds.states):
                    self.state_known(state, (*path, part, "states", i))
                for i, event in enumerate(bounds.events):
                    if event not in self.d.event_names():
                        self.report((*path, part, "events", i), f"unknown event '{event}' in sla {timer_name}.{part}",
                                    "definition_sla_unknown_event", event=event, timer=timer_name, part=part)
                if not bounds.states and not bounds.events:
                    self.report((*path, part), f"sla timer '{timer_name}' needs at least one {part} state or event",
                                "definition_sla_bound_missing", timer=timer_name, part=part)
            for i, state in enumerate(timer.pause):
                self.state_known(state, (*path, "pause", i))
            self.targets(timer_name, timer, path)
            self.ladder(timer, path)

    def targets(self, timer_name, timer, path) -> None:
        if timer.target_field:
            field = self.d.fields.get(timer.target_field)
            if field is None or field.type != "choice":
                self.report((*path, "target_field"), f"target_field '{timer.target_field}' must be a declared field of type choice",
                            "definition_sla_target_field", name=timer.target_field)
                return
            allowed, what = field.choices, f"a choice of '{timer.target_field}'"
            code, params = "definition_sla_target_not_choice", {"name": timer.target_field}
        else:
            allowed, what = PRIORITIES, "a priority (urgent, high, normal, low)"
            code, params = "definition_sla_target_not_priority", {"priorities": list(PRIORITIES)}
        for key, target in timer.targets.items():
            if key not in allowed:
                self.report((*path, "targets", key), f"target '{key}' of sla timer '{timer_name}' is not {what}",
                            code, key=key, timer=timer_name, **params)
            if self.calendars is not None and target.calendar not in self.calendars:
                self.report((*path, "targets", key, "calendar"), f"unknown calendar '{target.calendar}': use one of {', '.join(sorted(self.calendars))}",
                            "definition_unknown_calendar", calendar=target.calendar, calendars=sorted(self.calendars))
        for key in allowed:
            if key not in timer.targets:
                self.report((*path, "targets"), f"sla timer '{timer_name}' has no target for '{key}'",
                            "definition_sla_target_missing", timer=timer_name, key=str(key))

    def ladder(self, timer, path) -> None:
        levels = [step.level for step in timer.escalation]
        if levels != sorted(set(levels)):
            self.report((*path, "escalation"), "escalation levels must be distinct and listed in increasing order",
                        "definition_escalation_levels")
        for i, step in enumerate(timer.escalation):
            if step.time.risk is not None:
                # A forecast warns; moving the deadline or the work on a forecast would make the what-if and
                # the replayed history depend on the model, which they do not run.
                for option in ("raise_priority", "reassign"):
                    if getattr(step, option):
                        self.report((*path, "escalation", i, option), f"a rung at '{step.at}' warns before the "
                                    f"breach: it may notify and watch, not {option} (give that to a rung at a time)",
                                    "definition_rung_warns_only", at=step.at, option=option)
            for j, target in enumerate(step.recipients):
                self.recipient(step.notify[j], target, (*path, "escalation", i, "notify", j))
            for j, target in enumerate(step.watchers):
                self.recipient(step.watch[j], target, (*path, "escalation", i, "watch", j))
            if step.reassign_to is not None:
                self.recipient(step.reassign, step.reassign_to, (*path, "escalation", i, "reassign"))

    def recipient(self, written: str, target: Recipient, path: tuple) -> None:
        if not target.known:
            self.report(path, f"unknown recipient '{written}': use role:NAME, user:NAME, or one of {', '.join(sorted(NOTIFY_WORDS))}",
                        "definition_unknown_recipient", recipient=written, words=sorted(NOTIFY_WORDS))

    def feedback(self) -> None:
        feedback = self.d.feedback
        if feedback is None:
            return
        self.state_known(feedback.state, ("feedback", "state"))
        for part in ("satisfied", "unsatisfied"):
            name = getattr(feedback, part)
            if self.d.event(name, feedback.state) is None:
                self.report(("feedback", part), f"feedback.{part}: no event '{name}' leads out of state '{feedback.state}'",
                            "definition_feedback_event", part=part, event=name, state=feedback.state)
        if feedback.auto_confirm and self.calendars is not None and feedback.auto_confirm.calendar not in self.calendars:
            self.report(("feedback", "auto_confirm", "calendar"), f"unknown calendar '{feedback.auto_confirm.calendar}'",
                        "definition_calendar_unknown", calendar=feedback.auto_confirm.calendar)
        if feedback.comment_field is not None:
            self.field_known(feedback.comment_field, ("feedback", "comment_field"), types=("string", "text"))
            for part in ("satisfied", "unsatisfied"):
                event = self.d.event(getattr(feedback, part), feedback.state)
                if event is not None and feedback.comment_field not in event.fields:
                    self.report(("feedback", "comment_field"), f"feedback.comment_field '{feedback.comment_field}' "
                                f"must be one of the fields of event '{event.name}'", "definition_feedback_comment_field",
                                name=feedback.comment_field, event=event.name)
        satisfied = self.d.event(feedback.satisfied, feedback.state)
        if feedback.auto_confirm and satisfied is not None and satisfied.to == feedback.state:
            self.report(("feedback", "auto_confirm"), f"auto_confirm would fire '{satisfied.name}' from "
                        f"'{feedback.state}' back into '{feedback.state}', wait again and fire it again, for ever: "
                        f"'{satisfied.name}' must lead out of the feedback state", "definition_auto_confirm_loop",
                        event=satisfied.name, state=feedback.state)
        if feedback.auto_confirm and satisfied is not None:
            needs = [name for name, need in satisfied.fields.items() if need == "required"]
            if needs or satisfied.comment == "required" or satisfied.assigns == "required":
                self.report(("feedback", "auto_confirm"), f"auto_confirm cannot fire '{satisfied.name}': it needs "
                            f"{', '.join(needs) or 'a comment or an assignee'}, which nobody gives when the requester is silent",
                            "definition_auto_confirm_needs_fields" if needs else "definition_auto_confirm_needs_input",
                            event=satisfied.name, fields=needs)

    def field_known(self, name: str, path: tuple, types: tuple[str, ...] | None = None) -> None:
        spec = self.d.fields.get(name)
        if spec is None:
            self.report(path, f"unknown field '{name}': declare it under 'fields'", "definition_unknown_field", name=name)
        elif types and spec.type not in types:
            self.report(path, f"field '{name}' is of type {spec.type}; it must be {' or '.join(types)}",
                        "definition_field_wrong_type", name=name, type=spec.type, types=list(types))

    def timer_known(self, name: str, path: tuple) -> None:
        if name not in self.d.sla:
            self.report(path, f"unknown sla timer '{name}': use one of {', '.join(self.d.sla) or '(none declared)'}",
                        "definition_unknown_timer", name=name, timers=list(self.d.sla))

    def ledger(self) -> None:
        ledger = self.d.ledger
        if ledger is None:
            return
        for i, column in enumerate(ledger.columns):
            self.field_known(column, ("ledger", "columns", i))
        if ledger.department_field is not None:
            self.field_known(ledger.department_field, ("ledger", "department_field"), types=("string", "choice"))
        if ledger.deadline is not None:
            self.timer_known(ledger.deadline, ("ledger", "deadline"))
        if ledger.inspection is not None:
            names = set(self.d.event_names())
            for part in ("passed", "failed"):
                for i, event in enumerate(getattr(ledger.inspection, part)):
                    if event not in names:
                        self.report(("ledger", "inspection", part, i), f"unknown event '{event}' in ledger.inspection.{part}",
                                    "definition_inspection_unknown_event", event=event, part=part)

    def reporting(self) -> None:
        reporting = self.d.reporting
        if reporting is None:
            return
        if reporting.response_timer:
            self.timer_known(reporting.response_timer, ("reporting", "response_timer"))
        if reporting.fault_field is not None:
            self.field_known(reporting.fault_field, ("reporting", "fault_field"), types=("choice", "string"))
        if reporting.labour_field is not None:
            self.field_known(reporting.labour_field, ("reporting", "labour_field"), types=("integer", "number"))

    def notify_reporter(self) -> None:
        names = set(self.d.event_names())
        for i, event in enumerate(self.d.notify_reporter):
            if event not in names:
                self.report(("notify_reporter", i), f"unknown event '{event}' in notify_reporter: "
                                                    f"use one of {', '.join(self.d.event_names())}",
                            "definition_notify_reporter_event", event=event, events=list(self.d.event_names()))
