"""The targets language: what the hospital holds its logistics to (目标), in definitions/targets.yaml.

    baseline: {from: 2025-07, to: 2025-12}     # the months a "faster than" target compares with
    targets:
      - name: satisfaction
        label: {zh: 满意度, en: Satisfaction}
        figure: satisfaction
        at_least: 95%
      - name: emergency_answered
        label: {zh: 特急15分钟响应率, en: Emergencies answered in 15 minutes}
        figure: answered_within
        priority: urgent
        within: 15m
        at_least: 100%
      - name: faster_response
        label: {zh: 平均响应时间较基线缩短30%, en: Response 30% faster than the baseline}
        figure: response_minutes
        faster_than_baseline: 30%

Each target names one figure of the cockpit and one bound: `at_least` or `at_most`
(a share such as `95%`; for `response_minutes` a duration such as `30m`) or
`faster_than_baseline` (a share the figure must fall by against the baseline months).
Like every file of the language it is read within bounds, with positions, and every
problem is reported at once with its line and column; nothing here knows the database.
"""
import re
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from workflows.durations import parse_span
from workflows.errors import DefinitionError, coded
from workflows.loader import _plain, _schema_problem, parse_yaml, read_text
from workflows.schema import PRIORITIES, Label, Strict

NAME = re.compile(r"[a-z][a-z0-9_]{0,47}")
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
RATES = ("satisfaction", "on_time", "hazards_closed_out", "answered_within", "completion_rate", "reopen_rate")
FIGURES = (*RATES, "response_minutes")
Figure = Literal["satisfaction", "on_time", "hazards_closed_out", "answered_within", "completion_rate",
                 "reopen_rate", "response_minutes"]


def share(text) -> float:
    """`95%` → 0.95 (0% to 100%, digits only)."""
    match = re.fullmatch(r"(\d{1,3}(?:\.\d{1,2})?)\s*%", str(text).strip())
    if not match or float(match.group(1)) > 100:
        raise coded("target_share", f"'{text}' is not a share: write one from 0% to 100%, e.g. 95%", value=str(text))
    return float(match.group(1)) / 100


class Baseline(Strict):
    start: str = Field(alias="from")
    end: str = Field(alias="to")

    @field_validator("start", "end")
    @classmethod
    def _month(cls, value: str) -> str:
        if not MONTH.fullmatch(str(value)):
            raise coded("target_month", f"'{value}' is not a month: write it as 2025-07", value=str(value))
        return str(value)

    @model_validator(mode="after")
    def _ordered(self) -> "Baseline":
        if self.end < self.start:
            raise coded("target_baseline_order", f"the baseline ends ({self.end}) before it starts ({self.start})",
                        start=self.start, end=self.end)
        return self


class Target(Strict):
    name: str
    label: Label
    figure: Figure
    process: str | None = None   # on_time: the timer's process; others: only this process's work orders
    timer: str | None = None     # on_time: which timer
    priority: Literal[PRIORITIES] | None = None  # answered_within: only work orders of this priority
    within: str | None = None    # answered_within: the response timer ended within this long
    at_least: str | None = None
    at_most: str | None = None
    faster_than_baseline: str | None = None

    @field_validator("name")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not NAME.fullmatch(value):
            raise coded("target_name", f"'{value}' must be lower_snake_case, at most 48 characters, e.g. repair_response",
                        value=value)
        return value

    @model_validator(mode="after")
    def _one_bound(self) -> "Target":
        given = [name for name in ("at_least", "at_most", "faster_than_baseline") if getattr(self, name) is not None]
        if len(given) != 1:
            raise coded("target_one_bound", "give exactly one of at_least, at_most or faster_than_baseline")
        if self.figure == "on_time" and not (self.process and self.timer):
            raise coded("target_on_time_needs", "an on_time target names its process and timer, e.g. process: repair, "
                        "timer: response")
        if self.figure == "answered_within":
            if self.within is None:
                raise coded("target_within_missing", "an answered_within target says within how long, e.g. within: 15m")
            if parse_span(self.within) <= timedelta(0):
                raise coded("target_within_not_positive", "within must be longer than zero")
        if self.faster_than_baseline is not None:
            if self.figure != "response_minutes":
                raise coded("target_faster_only_response", "faster_than_baseline is for response_minutes only")
            share(self.faster_than_baseline)
        elif self.figure == "response_minutes":
            parse_span(self.at_least or self.at_most)
        else:
            share(self.at_least or self.at_most)
        return self

    @property
    def unit(self) -> str:
        return "minutes" if self.figure == "response_minutes" else "rate"

    @property
    def at_most_wanted(self) -> bool:
        """Whether lower is better: an `at_most` bound or a faster response."""
        return self.at_least is None

    def bound(self, baseline: float | None) -> float | None:
        """The value to reach: a share, or minutes; a faster-than target needs the baseline's figure."""
        if self.faster_than_baseline is not None:
            return None if baseline is None else round(baseline * (1 - share(self.faster_than_baseline)), 2)
        written = self.at_least or self.at_most
        return parse_span(written).total_seconds() / 60 if self.unit == "minutes" else share(written)

    @property
    def span(self) -> timedelta | None:
        return parse_span(self.within) if self.within else None


class Targets(Strict):
    baseline: Baseline | None = None
    targets: list[Target] = Field(default=[], max_length=100)


def load_targets(text: str, file: str = "<targets>", *, processes: dict | None = None) -> Targets:
    """Parse and check a targets file; raise DefinitionError listing every problem found.

    With `processes` (key → ProcessDefinition), the processes, timers and priorities named are checked too.
    """
    located = parse_yaml(text, file)
    try:
        found = Targets.model_validate(_plain(located.document))
    except ValidationError as exc:
        raise DefinitionError([_schema_problem(located, error) for error in exc.errors()]) from None
    problems, names = [], set()
    for index, target in enumerate(found.targets):
        path = ("targets", index)
        if target.name in names:
            problems.append(located.problem((*path, "name"), f"target '{target.name}' is declared twice",
                                            "target_twice", name=target.name))
        names.add(target.name)
        if target.faster_than_baseline is not None and found.baseline is None:
            problems.append(located.problem((*path, "faster_than_baseline"),
                                            "a faster-than target needs the file's baseline: {from: YYYY-MM, to: YYYY-MM}",
                                            "target_baseline_missing"))
        if processes is not None:
            problems += _unknown_names(located, path, target, processes)
    if problems:
        raise DefinitionError(problems)
    return found


def _unknown_names(located, path: tuple, target: Target, processes: dict) -> list:
    problems = []
    if target.process is not None and target.process not in processes:
        problems.append(located.problem((*path, "process"), f"unknown process '{target.process}': "
                                        f"use one of {', '.join(sorted(processes))}", "target_unknown_process",
                                        process=target.process, processes=sorted(processes)))
    elif target.timer is not None and target.timer not in processes[target.process].sla:
        timers = ", ".join(processes[target.process].sla) or "(it has none)"
        problems.append(located.problem((*path, "timer"), f"process '{target.process}' has no timer "
                                        f"'{target.timer}': use one of {timers}", "target_unknown_timer",
                                        process=target.process, timer=target.timer,
                                        timers=list(processes[target.process].sla)))
    return problems


def load_file(path: str | Path, *, processes: dict | None = None) -> Targets:
    return load_targets(read_text(path), str(path), processes=processes)
