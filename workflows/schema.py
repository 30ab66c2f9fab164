"""The shape of a process definition, checked by pydantic.

This module only says what a well-formed file looks like; cross-references
(unknown states, unreachable states, ...) are checked in `validate.py`.
"""
import re
from dataclasses import dataclass
from typing import Literal

from pydantic import (BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, ValidationInfo, field_validator,
                      model_validator)
from pydantic_core import PydanticCustomError, core_schema

from workflows.durations import Duration
from workflows.errors import coded
from workflows.limits import (LIST_ITEMS, MAX_LEVEL, MAX_LIST_ITEMS, MAX_RUNG_PERCENT, MAX_TEXT_LENGTH, NAME_PATTERN,
                              STRING_LENGTH, TEXT_LENGTH, USER_LENGTH)

ROLES = (
    "requester", "dispatcher", "technician", "dept_head", "logistics", "purchaser",
    "leader", "inspector", "supervisor", "designer", "admin",
)
# Stand for a person related to the work order rather than a role anybody holds.
# `on_duty`: a member of the work order's team who is on duty now (by the team's rota).
PSEUDO_ROLES = ("assignee", "reporter", "on_duty")
# `role@department`: a holder of the role who belongs to the work order's department.
DEPARTMENT_SCOPE = "@department"
# In an event's `distinct_from`, the person who filed the work order (besides the names of events).
FILED_BY = "reporter"

PRIORITIES = ("urgent", "high", "normal", "low")


def raised(priority: str) -> str:
    """One priority up (an escalation's `raise_priority`); the highest stays where it is."""
    index = PRIORITIES.index(priority) if priority in PRIORITIES else len(PRIORITIES) - 1
    return PRIORITIES[max(index - 1, 0)]


FIELD_TYPES = ("string", "text", "integer", "number", "boolean", "date", "datetime", "choice", "list", "user")
# What a `list` may hold (its `items`): one value of these types each, never another list.
ITEM_TYPES = tuple(kind for kind in FIELD_TYPES if kind != "list")
# The length a text may have when its definition does not say (`max_length` on string and text).
DEFAULT_LENGTH = {"string": STRING_LENGTH, "text": TEXT_LENGTH, "user": USER_LENGTH}

# Words a ladder may name besides `role:NAME` and `user:NAME`: people related to the work order.
# `team_lead` and `on_duty` are of the work order's team (the night standby is woken, not the day staff).
NOTIFY_WORDS = ("assignee", "reporter", "dept_head", "watchers", "first_contact", "team_lead", "on_duty")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Label(Strict):
    zh: str
    en: str


class Choice(str):
    """One value a choice field may hold, as work orders store it, with the label the definition gives it.

    Written `plumbing`, or `{value: plumbing, label: {zh: 给排水, en: Plumbing}}`: the label is the
    process's own, so a designer adds a choice without touching code (the short form's label comes
    from the pages' catalogue). A `str`, so every check of a value against the choices holds as is.
    """

    label: Label | None = None

    @classmethod
    def __get_pydantic_core_schema__(cls, source, handler):
        return core_schema.no_info_plain_validator_function(cls._read)

    @classmethod
    def _read(cls, item) -> "Choice":
        if isinstance(item, str):
            return item if isinstance(item, Choice) else cls(item)
        if isinstance(item, dict) and set(item) <= {"value", "label"} and isinstance(item.get("value"), str):
            made = cls(item["value"])
            if "label" in item:
                try:
                    made.label = Label.model_validate(item["label"])
                except ValidationError:
                    raise coded("definition_choice_label", f"the label of choice '{item['value']}' must be {{zh: …, en: …}}",
                                value=item["value"]) from None
            return made
        raise coded("definition_choice_form",
                    "a choice is a value (e.g. plumbing) or {value: plumbing, label: {zh: 给排水, en: Plumbing}}")


def _duration(value):
    return Duration.parse(value)


def _positive(span: Duration, what: str, code: str) -> Duration:
    if span.minutes <= 0 and span.days <= 0:
        raise coded(code, f"{what} must be longer than zero")
    return span


def name_problem(name: str, what: str) -> PydanticCustomError | None:
    """Why `name` cannot name a state or an event (they are written as they are in the diagram and URLs)."""
    if re.fullmatch(NAME_PATTERN, name):
        return None
    return coded(f"definition_{what}_name", f"{what} name '{name}' must be lower_snake_case: a small letter, then "
                 f"small letters, digits or '_', at most 48 characters", name=name)


class FieldSpec(Strict):
    """One field of the form a work order carries, and the bounds of its value.

    A `list` holds `items` of one scalar type (string when not given), at most `max_items` of them;
    its `choices`, `min`, `max` and `max_length` bound each item. The options added with lists
    (`items`, `max_items`, `max_length`) are refused at their line on a type they do not apply to;
    `choices`, `min` and `max` elsewhere are ignored, as ever (published versions keep loading).
    """

    type: str
    items: str | None = None
    label: Label | None = None
    required: bool = False
    choices: list[Choice] | None = None
    min: float | None = Field(default=None, allow_inf_nan=False)
    max: float | None = Field(default=None, allow_inf_nan=False)
    max_items: int | None = None
    max_length: int | None = None
    help: Label | None = None
    _item: "FieldSpec | None" = PrivateAttr(default=None)  # a list's items, made once, at load

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in FIELD_TYPES:
            raise coded("definition_field_type", f"unknown field type '{value}': use one of {', '.join(FIELD_TYPES)}",
                        type=value, types=list(FIELD_TYPES))
        return value

    @field_validator("items")
    @classmethod
    def _item_type(cls, value: str, info: ValidationInfo) -> str:
        if value == "list":
            raise coded("definition_list_of_lists", f"a list holds values, not lists: 'items' must be one of "
                        f"{', '.join(ITEM_TYPES)} (declare another list field for another list)",
                        types=list(ITEM_TYPES))
        if value not in ITEM_TYPES:
            raise coded("definition_item_type", f"unknown item type '{value}': use one of {', '.join(ITEM_TYPES)}",
                        type=value, types=list(ITEM_TYPES))
        kind = info.data.get("type")
        if kind is not None and kind != "list":
            raise coded("definition_list_only", f"'items' is for a field of type list, not {kind}", option="items",
                        type=kind)
        return value

    @field_validator("max_items")
    @classmethod
    def _items_bound(cls, value: int, info: ValidationInfo) -> int:
        kind = info.data.get("type")
        if kind is not None and kind != "list":
            raise coded("definition_list_only", f"'max_items' is for a field of type list, not {kind}",
                        option="max_items", type=kind)
        if not 1 <= value <= MAX_LIST_ITEMS:
            raise coded("definition_max_items", f"max_items must be from 1 to {MAX_LIST_ITEMS} (the most a list may "
                        "hold)", limit=MAX_LIST_ITEMS)
        return value

    @field_validator("max_length")
    @classmethod
    def _length_bound(cls, value: int, info: ValidationInfo) -> int:
        _applies(info, "max_length", ("string", "text"))
        if not 1 <= value <= MAX_TEXT_LENGTH:
            raise coded("definition_max_length", f"max_length must be from 1 to {MAX_TEXT_LENGTH} characters",
                        limit=MAX_TEXT_LENGTH)
        return value

    @model_validator(mode="after")
    def _choices_for_choice(self):
        if self.value_type == "choice" and not self.choices:
            what = "a list of choice" if self.type == "list" else "a field of type 'choice'"
            raise coded("definition_choices_missing", f"{what} needs a non-empty 'choices' list")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise coded("definition_min_over_max", f"min ({self.min:g}) is more than max ({self.max:g}): no value could "
                        "be given", min=f"{self.min:g}", max=f"{self.max:g}")
        if self.type == "list":
            self._item = FieldSpec.model_construct(
                type=self.value_type, choices=self.choices, min=self.min, max=self.max, max_length=self.max_length)
        return self

    def choice_label(self, value) -> Label | None:
        """The label the definition gives the choice `value` (None: none given, or no such choice)."""
        return next((choice.label for choice in self.choices or () if choice == value), None)

    @property
    def value_type(self) -> str:
        """The type of one value: the field's own, or the type of a list's items."""
        return (self.items or "string") if self.type == "list" else self.type

    @property
    def item(self) -> "FieldSpec | None":
        """A list's items as a field of their own (the list's choices, min, max and max_length); None for others."""
        return self._item

    @property
    def item_limit(self) -> int:
        """How many values a list may hold."""
        return self.max_items or LIST_ITEMS

    @property
    def length_limit(self) -> int | None:
        """How many characters a string, text or username may have; None for other types."""
        if self.type not in DEFAULT_LENGTH:
            return None
        return self.max_length or DEFAULT_LENGTH[self.type]


def _applies(info: ValidationInfo, option: str, types: tuple[str, ...]) -> None:
    """Refuse `option` on a field whose values are not of `types` (a list's own are its items')."""
    kind = info.data.get("type")
    if kind is None:  # no known type: that is the problem reported
        return
    own = (info.data.get("items") or "string") if kind == "list" else kind
    if own not in types:
        of = f"a list of {own}" if kind == "list" else kind
        raise coded("definition_option_not_for", f"'{option}' is for {' and '.join(types)} fields (or lists of them), "
                    f"not {of}", option=option, types=list(types), type=own)


class StateSpec(Strict):
    label: Label
    initial: bool = False
    final: bool = False


class EventSpec(Strict):
    name: str
    label: Label | None = None
    from_: list[str] = Field(alias="from")
    to: str
    roles: list[str]
    fields: dict[str, Literal["required", "optional"]] = {}
    assigns: Literal["required", "optional"] | None = None
    comment: Literal["required", "optional"] = "optional"
    condition: str | None = None
    distinct_from: list[str] = []
    # Whether a work order waiting for this event is waiting for whoever may fire it (their
    # inbox, 我的待办). `false` for what one may do at any time but nobody waits for: a cancel,
    # a reassignment.
    inbox: bool = True
    # The question the pages ask before an event that cannot be undone (撤单): its button stands apart
    # from the work's own, and its form is sent only once the question is ticked.
    confirm: Label | None = None

    @field_validator("from_", "distinct_from", mode="before")
    @classmethod
    def _one_or_many(cls, value):
        return [value] if isinstance(value, str) else value

    @field_validator("name")
    @classmethod
    def _identifier(cls, value: str) -> str:
        problem = name_problem(value, "event")
        if problem:
            raise problem
        return value


class SlaTarget(Strict):
    within: Duration
    calendar: str = "24x7"

    _parse = field_validator("within", mode="before")(lambda cls, v: _positive(_duration(v), "an SLA target",
                                                                                 "definition_sla_target_not_positive"))


# The probability of missing the deadline above which a running timer's work order is at risk
# (engine/foresight/risk.py), when its timer declares no `at_risk` of its own.
DEFAULT_AT_RISK = 0.6


def _probability(text: str, written: str) -> float:
    """A probability strictly between 0 and 1, written `0.6`: 0 would flag everything, 1 nothing before the breach."""
    match = re.fullmatch(r"(0?\.\d{1,4})", text)
    if not match or not 0 < float(match.group(1)) < 1:
        raise coded("definition_risk_probability", f"'{written}' is not a probability: write one between 0 and 1, "
                    "e.g. 'risk 0.6'", value=written)
    return float(match.group(1))


@dataclass(frozen=True)
class RungTime:
    """When a rung falls: a `fraction` of the target (`80%`), `shift` from the due time (`due + 30m`), or
    once the probability of missing the deadline reaches `risk` (`risk 0.6`), which has no clock time:
    the sweeper fires it from the at-risk scores (engine/foresight/risk.py), once per timer cycle."""

    fraction: float | None = None
    shift: Duration = Duration()
    risk: float | None = None

    @classmethod
    def parse(cls, text: str) -> "RungTime":
        text = str(text).strip()
        match = re.fullmatch(r"risk(?:\s+(\S+))?", text)
        if match:
            if match.group(1) is None:
                raise coded("definition_risk_missing", f"'{text}' says no probability: write 'risk 0.6' (warned once "
                            "the chance of missing the deadline reaches 60%)", value=text)
            return cls(risk=_probability(match.group(1), text))
        if text.endswith("%"):
            # Digits only: float() would take 'nan', 'inf', '-100' and '1e300', none a point in time.
            match = re.fullmatch(r"(\d{1,4}(?:\.\d{1,4})?)\s*%", text)
            if not match or not 0 < float(match.group(1)) <= MAX_RUNG_PERCENT:
                raise coded("definition_rung_share", f"'{text}' is not a share of the target: write more than 0% and at "
                            f"most {MAX_RUNG_PERCENT}%, e.g. '80%' (past 100% is after the due time)", value=text,
                            limit=MAX_RUNG_PERCENT)
            return cls(fraction=float(match.group(1)) / 100)
        match = re.fullmatch(r"due\s*(?:([+-])\s*(.+))?", text)
        if not match:
            raise coded("definition_rung_time", f"'{text}' is not a time: write '80%', 'due', 'due + 30m' or 'risk 0.6'",
                        value=text)
        if not match.group(1):
            return cls()
        span = Duration.parse(match.group(2))
        return cls(shift=-span if match.group(1) == "-" else span)


@dataclass(frozen=True)
class Recipient:
    """Who a rung names: `role:NAME`, `user:NAME`, or a word in NOTIFY_WORDS (`kind` is then the word)."""

    kind: str
    name: str = ""

    @classmethod
    def parse(cls, text: str) -> "Recipient":
        kind, _, name = str(text).partition(":")
        if kind in ("role", "user") and name:
            return cls(kind, name)
        if text in NOTIFY_WORDS:
            return cls(text)
        return cls("unknown", str(text))

    @property
    def known(self) -> bool:
        return self.kind in NOTIFY_WORDS or self.kind == "user" or (self.kind == "role" and self.name in ROLES)


class EscalationStep(Strict):
    """One rung of a ladder; level 0 is a warning, 1 and up are escalations.

    `at`, `notify`, `watch` and `reassign` keep the text as written (the API shows it); their
    parsed forms (`time`, `recipients`, `watchers`, `reassign_to`) are made once, at load.
    """

    level: int = Field(ge=0, le=MAX_LEVEL)
    at: str
    notify: list[str] = []
    raise_priority: bool = False
    reassign: str | None = None
    watch: list[str] = []
    _time: RungTime = PrivateAttr(default=RungTime())
    _recipients: tuple[Recipient, ...] = PrivateAttr(default=())
    _watchers: tuple[Recipient, ...] = PrivateAttr(default=())
    _reassign_to: Recipient | None = PrivateAttr(default=None)

    @field_validator("at")
    @classmethod
    def _when(cls, value: str) -> str:
        RungTime.parse(value)
        return value

    def model_post_init(self, context) -> None:
        self._time = RungTime.parse(self.at)
        self._recipients = tuple(Recipient.parse(target) for target in self.notify)
        self._watchers = tuple(Recipient.parse(target) for target in self.watch)
        self._reassign_to = Recipient.parse(self.reassign) if self.reassign is not None else None

    @property
    def time(self) -> RungTime:
        return self._time

    @property
    def recipients(self) -> tuple[Recipient, ...]:
        return self._recipients

    @property
    def watchers(self) -> tuple[Recipient, ...]:
        return self._watchers

    @property
    def reassign_to(self) -> Recipient | None:
        return self._reassign_to


class TimerBounds(Strict):
    states: list[str] = []
    events: list[str] = []


class SlaTimerSpec(Strict):
    label: Label | None = None
    start: TimerBounds
    stop: TimerBounds
    pause: list[str] = []
    target_field: str | None = None
    targets: dict[str, SlaTarget]
    escalation: list[EscalationStep] = []
    # The at-risk queue lists a running timer's work order once its probability of missing the deadline
    # passes this; DEFAULT_AT_RISK (0.6) when not given.
    at_risk: float | None = None

    @field_validator("at_risk")
    @classmethod
    def _threshold(cls, value: float | None) -> float | None:
        if value is not None and not 0 < value < 1:
            raise coded("definition_at_risk", f"at_risk {value:g} is not a probability: write one between 0 and 1, "
                        "e.g. 0.6 (listed at risk once the chance of missing the deadline passes 60%)",
                        value=f"{value:g}")
        return value

    @property
    def risk_threshold(self) -> float:
        return self.at_risk if self.at_risk is not None else DEFAULT_AT_RISK

    @property
    def risk_rungs(self) -> list[EscalationStep]:
        """The rungs that fall on a probability of missing the deadline, not at a time."""
        return [step for step in self.escalation if step.time.risk is not None]

    @field_validator("start", "stop", mode="before")
    @classmethod
    def _states_shorthand(cls, value):
        if isinstance(value, str):
            return {"states": [value]}
        if isinstance(value, list):
            return {"states": value}
        return value


class AutoConfirm(Strict):
    after: Duration
    calendar: str = "workday"

    # A zero wait would confirm in the same sweep that started it.
    _parse = field_validator("after", mode="before")(lambda cls, v: _positive(_duration(v), "auto_confirm.after",
                                                                                "definition_auto_confirm_not_positive"))


class FeedbackSpec(Strict):
    """Where the requester (or a follow-up call) confirms the result."""

    state: str
    satisfied: str
    unsatisfied: str
    auto_confirm: AutoConfirm | None = None
    escalate_unsatisfied: bool = False
    # The field the verdict's comment is recorded in (e.g. a complaint's follow-up call notes);
    # both feedback events must accept it.
    comment_field: str | None = None


class Inspection(Strict):
    """Events that are rounds of re-inspection: each firing is one round, kept in the history."""

    passed: list[str] = []
    failed: list[str] = []

    _many = field_validator("passed", "failed", mode="before")(lambda cls, v: [v] if isinstance(v, str) else v)


class LedgerSpec(Strict):
    """This process is a register (台账): every work order is one row, filtered and exported."""

    title: Label
    # Form fields shown as columns (after number, title, location, found by), in this order;
    # each can also be filtered on by its name.
    columns: list[str] = []
    # The field naming the responsible department (the `department` filter); the work order's
    # own department when not given.
    department_field: str | None = None
    # The SLA timer whose due time is the row's deadline.
    deadline: str | None = None
    inspection: Inspection | None = None


class ReportingSpec(Strict):
    """What the cockpit (数据驾驶舱) reads from this process's work orders."""

    # Whose working time is "response time"; the first declared SLA timer when not given, none when
    # `false` (a hazard's only timer is its rectification deadline, not a response).
    response_timer: str | Literal[False] | None = None
    # The field holding the fault category: this process's work orders are faults, counted in the
    # top fault categories and locations (preventive rounds, say, declare none).
    fault_field: str | None = None
    # A number field recorded by events; summed per person who recorded it (计件制工时).
    labour_field: str | None = None


class SubmitSpec(Strict):
    """How the process is offered to those who file work: the tile's words, saying what the user wants to do
    (我要报修), and its place among the tiles (lower first)."""

    label: Label
    rank: int = Field(default=100, ge=0, le=1000)


def submit_rank(definition: "ProcessDefinition") -> tuple[int, str]:
    """Where a process's tile stands among the others: by its `submit.rank`, then by key."""
    return (definition.submit.rank if definition.submit else SubmitSpec.model_fields["rank"].default, definition.key)


class ProcessDefinition(Strict):
    key: str
    version: int | None = Field(default=None, ge=1, le=1_000_000)
    title: Label
    description: Label | None = None
    number_prefix: str
    states: dict[str, StateSpec]
    fields: dict[str, FieldSpec] = {}
    events: list[EventSpec]
    sla: dict[str, SlaTimerSpec] = {}
    feedback: FeedbackSpec | None = None
    ledger: LedgerSpec | None = None
    reporting: ReportingSpec | None = None
    # The events the reporter is told about (in-app, and the channels an admin configured),
    # with the comment as the reason: e.g. [assign, accept, resolve, reject].
    notify_reporter: list[str] = []
    submit: SubmitSpec | None = None
    _event_labels: dict[str, Label] = PrivateAttr(default_factory=dict)  # made once, at load
    _events_from: dict[str, list[EventSpec]] = PrivateAttr(default_factory=dict)  # made once, at load
    dispatch: "DispatchSpec | None" = None
    # Follow-up calls (回访): which work orders the desk calls back, and who calls (workflows/calls.py).
    calls: "CallsSpec | None" = None

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", value):
            raise coded("definition_process_key", f"process key '{value}' must be lower_snake_case", value=value)
        return value

    @field_validator("number_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Z]{1,4}", value):
            raise coded("definition_number_prefix", f"number_prefix '{value}' must be 1-4 capital letters, e.g. RP",
                        value=value)
        return value

    # Lookups the engine uses on every transition.
    @property
    def initial_state(self) -> str:
        return next(name for name, state in self.states.items() if state.initial)

    def final_states(self) -> set[str]:
        return {name for name, state in self.states.items() if state.final}

    def events_from(self, state: str) -> list[EventSpec]:
        return list(self._events_from.get(state, ()))

    def event(self, name: str, state: str) -> EventSpec | None:
        return next((e for e in self._events_from.get(state, ()) if e.name == name), None)

    def event_names(self) -> list[str]:
        return list(dict.fromkeys(event.name for event in self.events))

    def response_timer(self) -> str | None:
        """The SLA timer the cockpit reports as response time."""
        if self.reporting and self.reporting.response_timer is not None:
            return self.reporting.response_timer or None
        return next(iter(self.sla), None)

    def labour_in(self, values: dict) -> float | None:
        """The minutes a step's fields record in `reporting.labour_field` (计件制工时), when they record a number."""
        value = values.get(self.reporting.labour_field) if self.reporting and self.reporting.labour_field else None
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    def fault_field(self) -> FieldSpec | None:
        """The field the cockpit counts faults by (`reporting.fault_field`), whose choices name the categories."""
        name = self.reporting.fault_field if self.reporting else None
        return self.fields.get(name) if name else None

    def event_label(self, name: str) -> Label:
        """The first label declared for an event name (a timeline row names only the event)."""
        return self._event_labels.get(name) or Label(zh=name, en=name)

    def model_post_init(self, context) -> None:
        labels: dict[str, Label] = {}
        by_source: dict[str, list[EventSpec]] = {}
        for event in self.events:
            if event.label:
                labels.setdefault(event.name, event.label)
            for source in dict.fromkeys(event.from_):
                by_source.setdefault(source, []).append(event)
        self._event_labels = labels
        self._events_from = by_source


# Routing (workflows.dispatch) builds on the types above; imported last so that it can.
from workflows.dispatch import DispatchSpec  # noqa: E402
from workflows.calls import CallsSpec  # noqa: E402

ProcessDefinition.model_rebuild()
