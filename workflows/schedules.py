"""The schedule language: recurring work orders (定期工单) declared in YAML.

A schedule file lists rules; each creates a work order of a named process on a
cron line or at a fixed interval, in the hospital's time zone, optionally only
on the working days of a named calendar. Like a process definition, a file is
read with positions, checked by pydantic and then across its parts, and every
problem is reported at once with its line and column.
"""
import re
import string
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import Field, PrivateAttr, ValidationError, field_validator, model_validator

from workflows.durations import parse_span

from workflows.errors import DefinitionError, Problem, coded
from workflows.loader import Located, _plain, _schema_problem, parse_yaml
from workflows.schema import PRIORITIES, ProcessDefinition, Strict

TITLE_PLACEHOLDERS = {"date", "time"}
ASSET_PLACEHOLDERS = {"asset", "asset_no"}  # the device's name and asset number, for rules with `assets`
# The register's statuses a rule may ask for; a retired device takes no work orders.
ASSET_STATUSES = ("in_service", "under_repair")
# A device rule keys each period by "name#<device id>" in a 64-character column: room for any id.
MAX_DEVICE_RULE_NAME = 52
MIN_INTERVAL = timedelta(minutes=1)  # cron's own resolution


span = parse_span  # `30m`, `8h`, `1d`, `1w`: wall-clock time (not working time), for intervals and lateness


class AssetTarget(Strict):
    """Which devices a rule makes work for: one work order per device per period."""

    class_: str | None = Field(default=None, alias="class")  # an equipment class, e.g. elevator
    location: str | None = None  # a location code: the devices at that place and anywhere under it
    status: str | list[str] = "in_service"  # the register status(es) a device must have

    @field_validator("class_")
    @classmethod
    def _class_name(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[a-z][a-z0-9_]{0,47}", value):
            raise coded("schedule_asset_class", f"'{value}' is not an equipment class: lower_snake_case, e.g. elevator "
                        "or chiller", value=value)
        return value

    @field_validator("location")
    @classmethod
    def _code(cls, value: str | None) -> str | None:
        if value is not None and not 1 <= len(value.strip()) <= 64:
            raise coded("schedule_location_code", "a location code is 1-64 characters")
        return value.strip() if value is not None else None

    @field_validator("status")
    @classmethod
    def _statuses(cls, value: str | list[str]) -> str | list[str]:
        wanted = [value] if isinstance(value, str) else value
        unknown = [status for status in wanted if status not in ASSET_STATUSES]
        if unknown or not wanted:
            raise coded("schedule_asset_status", f"status must be one or a list of {', '.join(ASSET_STATUSES)} "
                        "(a retired device takes no work orders)", statuses=list(ASSET_STATUSES))
        return value

    @model_validator(mode="after")
    def _something(self):
        if self.class_ is None and self.location is None:
            raise coded("schedule_assets_what", "name the devices: 'class' (an equipment class), 'location' (a location "
                        "code), or both")
        return self

    @property
    def statuses(self) -> list[str]:
        return [self.status] if isinstance(self.status, str) else list(self.status)


class Rule(Strict):
    name: str
    process: str
    # The work order's title; `{date}` and `{time}` become the period's local date and time.
    title: str = Field(min_length=1, max_length=200)
    cron: str | None = None
    every: str | None = None
    starting: datetime | None = None  # local wall-clock time of the first interval period
    calendar: str | None = None
    skip_closed_days: bool = False  # no run on a day the calendar is closed (holidays, weekends)
    priority: str = "normal"
    department: str | None = None
    location: str = ""
    description: str = ""
    fields: dict = {}
    assignee: str | None = None
    reporter: str | None = None  # the user the work order is created as; the file's `run_as` by default
    late_after: str | None = None
    active: bool = True
    # With `assets`, each period makes one work order per device matched, about that device and at its place.
    assets: AssetTarget | None = None
    # Parsed once at load: the engine reads these, never the text.
    _interval: timedelta | None = PrivateAttr(default=None)
    _late_after: timedelta | None = PrivateAttr(default=None)

    def model_post_init(self, context) -> None:
        self._interval = span(self.every) if self.every is not None else None
        self._late_after = span(self.late_after) if self.late_after is not None else None

    @property
    def interval(self) -> timedelta | None:
        """The `every` span, for interval rules."""
        return self._interval

    def lateness(self, schedule: "Schedule") -> timedelta:
        """How late a period may be created before it is marked late: the rule's, else the file's."""
        return self._late_after if self._late_after is not None else schedule.lateness

    @field_validator("name")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", value):
            raise coded("schedule_rule_name", f"rule name '{value}' must be lower_snake_case, at most 64 characters",
                        value=value)
        return value

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None and (len(value.split()) != 5 or not croniter.is_valid(value)):
            raise coded("schedule_cron", f"'{value}' is not a cron line: five fields, minute hour day month weekday, "
                        f"e.g. '0 8 * * *' for 08:00 every day", value=value)
        return value

    @field_validator("every", "late_after")
    @classmethod
    def _span(cls, value: str | None, info) -> str | None:
        if value is not None and span(value) <= timedelta(0):
            raise coded("schedule_span_not_positive", "the span must be longer than zero")
        if value is not None and info.field_name == "every" and span(value) < MIN_INTERVAL:
            raise coded("schedule_too_often", f"'{value}' is too often: at most one work order a minute (as with "
                        "cron), so 'every' is at least 1m", value=value)
        return value

    @field_validator("priority")
    @classmethod
    def _priority(cls, value: str) -> str:
        if value not in PRIORITIES:
            raise coded("schedule_priority", f"priority must be one of {', '.join(PRIORITIES)}",
                        priorities=list(PRIORITIES))
        return value

    @field_validator("title")
    @classmethod
    def _placeholders(cls, value: str) -> str:
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        except ValueError:
            raise coded("schedule_title_brace", "the title has an unmatched '{' or '}'; write '{{' or '}}' for a "
                        "brace") from None
        unknown = names - TITLE_PLACEHOLDERS - ASSET_PLACEHOLDERS
        if unknown:
            raise coded("schedule_title_placeholder", f"unknown placeholder {{{sorted(unknown)[0]}}} in the title: "
                        "use {date}, {time}, or with 'assets' {asset} or {asset_no}", placeholder=sorted(unknown)[0])
        return value

    @model_validator(mode="after")
    def _one_timing(self):
        if (self.cron is None) == (self.every is None):
            raise coded("schedule_timing", "give either 'cron' or 'every' (with 'starting'), not both and not neither")
        if self.every is not None and self.starting is None:
            raise coded("schedule_starting_missing", "an 'every' rule needs 'starting': the local time of its first "
                        "period, e.g. 2026-01-01T06:00")
        if self.starting is not None and self.starting.tzinfo is not None:
            raise coded("schedule_starting_offset", "'starting' is a local wall-clock time in the schedule's time zone: "
                        "leave out the offset")
        if self.skip_closed_days and self.calendar is None:
            raise coded("schedule_skip_needs_calendar", "skip_closed_days needs a 'calendar' that says which days are "
                        "closed")
        return self

    @property
    def device_placeholders(self) -> set[str]:
        """The device placeholders the title uses ({asset}, {asset_no})."""
        return {name for _, name, _, _ in string.Formatter().parse(self.title) if name} & ASSET_PLACEHOLDERS


class Schedule(Strict):
    timezone: str | None = None  # IANA name; the hospital's zone (HOUQIN_TIMEZONE) when not given
    run_as: str = "system"  # the user recurring work orders are created by, made on first use
    late_after: str = "30m"  # a period created later than this after its time is marked late
    catch_up: int = Field(default=100, ge=1, le=10000)  # most missed periods one rule creates at once
    rules: list[Rule] = []
    _late_after: timedelta = PrivateAttr(default=timedelta(minutes=30))

    def model_post_init(self, context) -> None:
        self._late_after = span(self.late_after)

    @property
    def lateness(self) -> timedelta:
        return self._late_after

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise coded("schedule_timezone", f"unknown time zone '{value}': use an IANA name such as Asia/Shanghai",
                            value=value) from None
        return value

    @field_validator("late_after")
    @classmethod
    def _late(cls, value: str) -> str:
        if span(value) <= timedelta(0):
            raise coded("schedule_span_not_positive", "the span must be longer than zero")
        return value


def load_schedule(text: str, file: str = "<schedule>", *, calendars: set[str] | None = None,
                  processes: dict[str, ProcessDefinition] | None = None,
                  asset_classes: set[str] | None = None) -> Schedule:
    """Parse and check a schedule; raise DefinitionError listing every problem found.

    With `calendars`, `processes` and `asset_classes`, names are checked against them too.
    """
    located = parse_yaml(text, file)
    try:
        schedule = Schedule.model_validate(_plain(located.document))
    except ValidationError as exc:
        raise DefinitionError([_schema_problem(located, error) for error in exc.errors()]) from None
    problems = _cross_problems(schedule, located, calendars, processes, asset_classes)
    if problems:
        raise DefinitionError(problems)
    return schedule


def _cross_problems(schedule: Schedule, located: Located, calendars, processes, asset_classes=None) -> list[Problem]:
    problems, seen = [], set()
    for index, rule in enumerate(schedule.rules):
        path = ("rules", index)
        if rule.name in seen:
            problems.append(located.problem((*path, "name"), f"rule '{rule.name}' is declared twice",
                                            "schedule_rule_twice", name=rule.name))
        seen.add(rule.name)
        if rule.assets is not None and len(rule.name) > MAX_DEVICE_RULE_NAME:
            problems.append(located.problem((*path, "name"), f"a rule with 'assets' has a name of at most "
                                            f"{MAX_DEVICE_RULE_NAME} characters (each device's period is keyed by it)",
                                            "schedule_device_rule_name", limit=MAX_DEVICE_RULE_NAME))
        if rule.assets is None and rule.device_placeholders:
            problems.append(located.problem((*path, "title"), f"{{{sorted(rule.device_placeholders)[0]}}} needs "
                                            "'assets': the devices the rule makes work for", "schedule_placeholder_needs_assets",
                                            placeholder=sorted(rule.device_placeholders)[0]))
        if asset_classes is not None and rule.assets is not None and rule.assets.class_ is not None \
                and rule.assets.class_ not in asset_classes:
            problems.append(located.problem((*path, "assets", "class"), f"unknown equipment class "
                                            f"'{rule.assets.class_}': use one of {', '.join(sorted(asset_classes))}",
                                            "schedule_unknown_asset_class", value=rule.assets.class_,
                                            classes=sorted(asset_classes)))
        if calendars is not None and rule.calendar is not None and rule.calendar not in calendars:
            problems.append(located.problem((*path, "calendar"),
                                            f"unknown calendar '{rule.calendar}': use one of {', '.join(sorted(calendars))}",
                                            "definition_unknown_calendar", calendar=rule.calendar,
                                            calendars=sorted(calendars)))
        if processes is None:
            continue
        definition = processes.get(rule.process)
        if definition is None:
            problems.append(located.problem((*path, "process"),
                                            f"unknown process '{rule.process}': use one of {', '.join(sorted(processes))}",
                                            "target_unknown_process", process=rule.process, processes=sorted(processes)))
            continue
        for name, value in rule.fields.items():
            spec = definition.fields.get(name)
            if spec is None:
                problems.append(located.problem((*path, "fields", name),
                                                f"process '{rule.process}' has no field '{name}'",
                                                "schedule_unknown_field", process=rule.process, name=name))
            elif spec.type == "choice" and value not in spec.choices:
                problems.append(located.problem((*path, "fields", name),
                                                f"{name} must be one of {', '.join(spec.choices)}",
                                                "schedule_not_a_choice", name=name, choices=[str(c) for c in spec.choices]))
        for name, spec in definition.fields.items():
            if spec.required and name not in rule.fields:
                problems.append(located.problem((*path, "fields" if rule.fields else "process"),
                                                f"process '{rule.process}' needs the field '{name}' in 'fields'",
                                                "schedule_field_required", process=rule.process, name=name))
        if rule.assignee is not None and assigning_event(definition) is None:
            problems.append(located.problem((*path, "assignee"),
                                            f"process '{rule.process}' has no event from its first state that takes an assignee",
                                            "schedule_no_assigning_event", process=rule.process))
    return problems


def assigning_event(definition: ProcessDefinition) -> str | None:
    """The event that hands a new work order of this process to somebody, if there is one."""
    for event in definition.events_from(definition.initial_state):
        if event.assigns:
            return event.name
    return None
