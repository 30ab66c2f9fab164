"""What one transition allows: who may fire it, what it takes, and when it is refused.

Each declared event, from each of its source states, is compiled once into a
`Transition` that carries every rule the definition gives it: the target, the
guard (parsed once), who may fire it, its field model, whether it assigns, whether
it needs a comment, and the different-person rule. `CompiledProcess.available` and
`CompiledProcess.check` (workflows.machine) ask these, and nothing else does.

The work order and the actor come in as small read-only views, so the rules can be
asked without a database: the engine hands over its rows, a test a namespace.
"""
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from workflows.conditions import Condition
from workflows.fields import FieldModel
from workflows.refusals import problem
from workflows.schema import DEPARTMENT_SCOPE, FILED_BY, EventSpec
from workflows.validate import BUILTIN_NAMES

COMMENT_LIMIT = 5000


class OrderView(Protocol):
    """What the rules read of a work order."""

    id: int
    number: str
    version: int
    state: str
    fields: dict
    assignee_id: int | None
    reporter_id: int | None
    department_id: int | None
    # A caller without an account the desk filed for (电话报修); None when the requester has an account.
    caller_name: str | None
    priority: str
    location: str
    team_id: int | None


class ActorView(Protocol):
    """What the rules read of the person acting."""

    id: int
    roles: frozenset[str]
    department_id: int | None
    # The teams whose rota has this person on duty now (the engine fills it in when an event names `on_duty`).
    on_duty: frozenset[int]


class InputView(Protocol):
    """What an event carries: a comment, the username of a new assignee, field values, the version read."""

    comment: str
    assignee: str | None
    fields: dict
    expected_version: int | None


@dataclass(frozen=True)
class LastDone:
    """Who last did an event on a work order; `sequence` orders deeds across events (e.g. a history row id)."""

    actor_id: int | None
    sequence: int


# Who may fire: one test per entry of an event's `roles`, compiled once.
Who = Callable[[OrderView, ActorView], bool]


def who(spec: str) -> Who:
    """`assignee`, `reporter`, `on_duty` (of the order's team), `role@department` (a holder of the role in the order's department), or a role."""
    if spec == "assignee":
        return lambda order, actor: order.assignee_id is not None and order.assignee_id == actor.id
    if spec == "reporter":
        return answers_as_reporter
    if spec == "on_duty":
        return lambda order, actor: order.team_id is not None and order.team_id in getattr(actor, "on_duty", ())
    if spec.endswith(DEPARTMENT_SCOPE):
        role = spec.removesuffix(DEPARTMENT_SCOPE)
        return lambda order, actor: role in actor.roles and same_department(actor, order)
    return lambda order, actor: spec in actor.roles


# Who answers for a caller without an account: the clinical people of the work order's department.
CALLER_DEPARTMENT_ROLES = frozenset({"requester", "dept_head"})


def answers_as_reporter(order: OrderView, actor: ActorView) -> bool:
    """The requester of record: the reporter; or, for a caller the desk filed for by name and phone (who cannot
    sign in), a requester or head of the work order's department, and not the desk that wrote it down."""
    if getattr(order, "caller_name", None):
        return answers_for_callers(actor) and same_department(actor, order)
    return order.reporter_id == actor.id


def answers_for_callers(actor: ActorView) -> bool:
    """The actor may answer for their department's callers without an account (see `answers_as_reporter`)."""
    return bool(actor.roles & CALLER_DEPARTMENT_ROLES) and actor.department_id is not None


def same_department(actor: ActorView, order: OrderView) -> bool:
    """Both belong to one department. No department on either side is no match: None is nobody's department."""
    return actor.department_id is not None and actor.department_id == order.department_id


# Which work orders an entry of `roles` can open to an actor, in words a query can use.
ANY, IN_DEPARTMENT, AS_ASSIGNEE, AS_REPORTER, ON_DUTY = "any", "department", "assignee", "reporter", "on_duty"


def reach(spec: str, actor: ActorView) -> str | None:
    """Which work orders this entry of an event's `roles` lets `actor` act on; None: none.

    The same reading of `roles` as `who`, turned around: not "may this actor act on this
    order?" but "on which orders could they?", so an inbox can choose its candidates in SQL.
    """
    if spec == "assignee":
        return AS_ASSIGNEE
    if spec == "reporter":
        return AS_REPORTER
    if spec == "on_duty":
        return ON_DUTY if getattr(actor, "on_duty", None) else None
    if spec.endswith(DEPARTMENT_SCOPE):
        held = spec.removesuffix(DEPARTMENT_SCOPE) in actor.roles and actor.department_id is not None
        return IN_DEPARTMENT if held else None
    return ANY if spec in actor.roles else None


def condition_values(order: OrderView, new_values: dict | None = None) -> dict:
    """The names a guard may use: the order's fields with this step's values over them, and the built-ins."""
    values = {**order.fields, **(new_values or {})}
    builtins = {"priority": order.priority, "department": order.department_id, "location": order.location}
    return {**{name: builtins[name] for name in BUILTIN_NAMES}, **values}


@dataclass(frozen=True, eq=False)
class Transition:
    """One event from one source state, with every rule the definition gives it."""

    spec: EventSpec
    source: str
    target: str
    guard: Condition | None
    who: tuple[Who, ...]
    fields: FieldModel

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def roles(self) -> list[str]:
        return self.spec.roles

    @property
    def assigns(self) -> str | None:
        return self.spec.assigns

    @property
    def comment(self) -> str:
        return self.spec.comment

    @property
    def distinct_from(self) -> list[str]:
        return self.spec.distinct_from

    def permits(self, order: OrderView, actor: ActorView) -> bool:
        return any(test(order, actor) for test in self.who)

    def held_by_role(self, actor: ActorView) -> bool:
        """The actor holds a role the event names, whatever its scope.

        Such a person may learn that the event is not theirs (403) even on a work order they
        cannot see, e.g. the head of another department asked to approve a request.
        """
        return any(spec.split("@")[0] in actor.roles for spec in self.spec.roles)

    def guard_holds(self, values: dict) -> bool:
        return self.guard is None or self.guard.holds(values)

    @property
    def distinct_events(self) -> list[str]:
        """The events of the different-person rule whose doer the history must say (not the filer)."""
        return [name for name in self.spec.distinct_from if name != FILED_BY]

    def someone_else(self) -> str:
        """The refusal's code for whom the different-person rule sets apart: who filed the work order, who did
        one of the events (`distinct_events`), or either."""
        filer = FILED_BY in self.spec.distinct_from
        if filer and self.distinct_events:
            return "someone_else_than_filer_or_doer"
        return "someone_else_than_filer" if filer else "someone_else_than_doer"

    def same_person(self, order: OrderView, actor: ActorView, last_done: Mapping[str, LastDone] | None) -> bool:
        """The four-eyes rule: the latest of the `distinct_from` deeds was done by this actor.

        FILED_BY there names who filed the work order (a department head may not approve a request they filed
        themselves); filing comes before every event, so beside event names it counts only while none of
        those events was done.
        """
        if not self.spec.distinct_from:
            return False
        if last_done is None and self.distinct_events:
            raise ValueError(f"'{self.name}' has a different-person rule: pass who last did "
                             f"{', '.join(self.distinct_events)} in last_done")
        known = {**(last_done or {}), FILED_BY: LastDone(order.reporter_id, 0)}
        deeds = [known[name] for name in self.spec.distinct_from if name in known]
        return bool(deeds) and max(deeds, key=lambda deed: deed.sequence).actor_id == actor.id

    @property
    def label(self) -> dict:
        """The event's label as a problem carries it (`{zh, en}`), for the reader's language to pick."""
        return self.spec.label.model_dump() if self.spec.label else {"zh": self.name, "en": self.name}

    def read_input(self, request: InputView, find_assignee: Callable[[str], object | None] | None):
        """(clean values, the new assignee, problems): every problem with the fields, assignee and comment."""
        values, errors = self.fields.clean(request.fields or {})
        assignee = None
        if request.assignee and self.assigns:
            assignee = find_assignee(request.assignee) if find_assignee else request.assignee
            if assignee is None:
                errors.append(problem("assignee", "no_active_user", username=request.assignee))
        elif request.assignee and not self.assigns:
            errors.append(problem("assignee", "takes_no_assignee", event=self.name, event_label=self.label))
        elif self.assigns == "required":
            errors.append(problem("assignee", "needs_assignee", event=self.name, event_label=self.label))
        # The system's own reason (a message, as when an offer lapses) gives the reason a person would write.
        if self.comment == "required" and not (request.comment or "").strip() and not getattr(request, "message", None):
            errors.append(problem("comment", "needs_reason", event=self.name, event_label=self.label))
        if len(request.comment or "") > COMMENT_LIMIT:
            errors.append(problem("comment", "too_long", max=COMMENT_LIMIT))
        return values, assignee, errors


@dataclass(frozen=True)
class Decision:
    """A step `check` allows: the transition, the values in stored form and the new assignee (if any)."""

    transition: Transition
    values: dict
    assignee: object | None = None

    @property
    def event(self) -> str:
        return self.transition.name

    @property
    def target(self) -> str:
        return self.transition.target
