"""The equipment language: the classes of device the register (设备台账) holds, in definitions/equipment.yaml.

    classes:
      - {value: elevator, label: {zh: 电梯, en: Elevator}, category: elevator}
    repeat_fault: {failures: 3, within: 90d}

A class's `value` is what the register stores and what routing rules match
(`when: {asset_class: [elevator]}`); its label is what people read and type (an
import takes either); `category`, when given, is the category a report from such
a device gets (the process's `category` choice field). `repeat_fault` says how
many failures of one device within how long make it a repeat fault. Like every
file of the language it is read within bounds, with positions, and every problem
is reported at once with its line and column; nothing here knows the database.
"""
import re
from datetime import timedelta
from pathlib import Path

from pydantic import Field, PrivateAttr, ValidationError, field_validator

from workflows.durations import parse_span
from workflows.errors import DefinitionError, coded
from workflows.loader import _plain, _schema_problem, parse_yaml, read_text
from workflows.schema import Label, Strict

VALUE = re.compile(r"[a-z][a-z0-9_]{0,47}")  # fits Asset.asset_class


class DeviceClass(Strict):
    value: str
    label: Label
    category: str | None = None  # the category a report from such a device gets

    @field_validator("value")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not VALUE.fullmatch(value):
            raise coded("equipment_class_name", f"class '{value}' must be lower_snake_case, at most 48 characters, "
                        "e.g. air_handler", value=value)
        return value


class RepeatFault(Strict):
    failures: int = Field(default=3, ge=2, le=1000)
    within: str = "90d"
    _within: timedelta = PrivateAttr(default=timedelta(days=90))

    def model_post_init(self, context) -> None:
        self._within = parse_span(self.within)

    @property
    def span(self) -> timedelta:
        """`within`, parsed once at load (wall-clock time)."""
        return self._within

    @field_validator("within")
    @classmethod
    def _span(cls, value: str) -> str:
        if parse_span(value) <= timedelta(0):
            raise coded("equipment_span_not_positive", "the span must be longer than zero")
        return value


class Equipment(Strict):
    classes: list[DeviceClass] = Field(default=[], max_length=1000)
    repeat_fault: RepeatFault = RepeatFault()
    _by_value: dict[str, DeviceClass] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context) -> None:
        self._by_value = {item.value: item for item in self.classes}

    def get(self, value: str) -> DeviceClass | None:
        return self._by_value.get(value)

    def value_of(self, text) -> str | None:
        """The class a person wrote: its value, or its Chinese or English label."""
        text = str(text or "").strip()
        if text in self._by_value:
            return text
        for item in self.classes:
            if text in (item.label.zh, item.label.en):
                return item.value
        return None

    def values(self) -> list[str]:
        return list(self._by_value)


def load_equipment(text: str, file: str = "<equipment>", *, categories: set[str] | None = None) -> Equipment:
    """Parse and check an equipment file; raise DefinitionError listing every problem found.

    With `categories` (the choices of the processes' `category` fields), each class's category is checked too.
    """
    located = parse_yaml(text, file)
    try:
        equipment = Equipment.model_validate(_plain(located.document))
    except ValidationError as exc:
        raise DefinitionError([_schema_problem(located, error) for error in exc.errors()]) from None
    problems, values, labels = [], set(), set()
    for index, item in enumerate(equipment.classes):
        path = ("classes", index)
        if item.value in values:
            problems.append(located.problem((*path, "value"), f"class '{item.value}' is declared twice",
                                            "equipment_class_twice", value=item.value))
        for name in {item.label.zh, item.label.en}:
            if name in labels:  # an import names a class by its label: each names one class only
                problems.append(located.problem((*path, "label"), f"the label '{name}' names two classes",
                                                "equipment_label_twice", label=name))
            labels.add(name)
        values.add(item.value)
        if categories is not None and item.category is not None and item.category not in categories:
            problems.append(located.problem((*path, "category"), f"unknown category '{item.category}': "
                                            f"use one of {', '.join(sorted(categories)) or '(no process has one)'}",
                                            "equipment_unknown_category", category=item.category,
                                            categories=sorted(categories)))
    if problems:
        raise DefinitionError(problems)
    return equipment


def load_file(path: str | Path, *, categories: set[str] | None = None) -> Equipment:
    return load_equipment(read_text(path), str(path), categories=categories)


def categories_of(definitions) -> set[str]:
    """The choices of the `category` field of the given process definitions: what a class's category may be."""
    found = set()
    for definition in definitions:
        spec = definition.fields.get("category")
        if spec is not None and spec.type == "choice" and spec.choices:
            found.update(spec.choices)
    return found
