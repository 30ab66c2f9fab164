"""The field model: which fields a step accepts or requires, and the value checks for each type.

A definition declares typed fields (`labour_minutes: integer`, `urgency: choice`);
creating a work order, editing it and each event accept some of them and require
some. The checks are pure so the compiled process can decide about a step without
a database, and every problem is reported at once, each naming its field.

Every value is bounded by its type before anything is stored: a text by its length,
a number by being finite, a list by its length and by the type of each item (a list
holds scalars, so no value is nested deeper than a list). The fields of one work
order together are bounded too (`size_problems`), so a work order is never too large
to send to everyone who lists it.
"""
import json
import math
from dataclasses import dataclass
from datetime import date, datetime

from workflows.limits import MAX_FIELDS_BYTES, MAX_NUMBER
from workflows.schema import FieldSpec


def coerce(name: str, spec: FieldSpec, value):
    """The value in its stored (JSON-friendly) form; ValueError says what to fix."""
    kind = spec.type
    if kind in ("string", "text", "user"):
        if not isinstance(value, str):
            raise ValueError(f"{name} must be text")
        if len(value) > spec.length_limit:
            raise ValueError(f"{name} must be at most {spec.length_limit} characters")
        return value
    if kind == "choice":
        if value not in spec.choices:
            raise ValueError(f"{name} must be one of {', '.join(spec.choices)}")
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false")
        return value
    if kind in ("integer", "number"):
        return _number(name, spec, value)
    if kind == "list":
        if not isinstance(value, list):
            raise ValueError(f"{name} must be a list")
        if len(value) > spec.item_limit:
            raise ValueError(f"{name} must have at most {spec.item_limit} items")
        return [coerce(f"{name}[{index}]", spec.item, item) for index, item in enumerate(value)]
    if kind == "date":
        return _parse(name, value, date.fromisoformat, "a date such as 2026-10-09").isoformat()
    if kind == "datetime":
        parsed = _parse(name, value, datetime.fromisoformat, "a time such as 2026-10-09T14:30:00+08:00")
        if parsed.tzinfo is None:
            raise ValueError(f"{name} needs a time zone, e.g. 2026-10-09T14:30:00+08:00")
        return parsed.isoformat()
    raise ValueError(f"{name} has unknown type {kind}")


def _number(name: str, spec: FieldSpec, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number")
    # NaN and infinities are no JSON; past 2**53 a JSON reader (a browser) no longer reads the number exactly.
    if (isinstance(value, float) and not math.isfinite(value)) or abs(value) > MAX_NUMBER:
        raise ValueError(f"{name} must be a finite number of at most {MAX_NUMBER} either side of zero")
    if spec.type == "integer":
        if value != int(value):
            raise ValueError(f"{name} must be a whole number")
        value = int(value)
    if spec.min is not None and value < spec.min:
        raise ValueError(f"{name} must be at least {spec.min:g}")
    if spec.max is not None and value > spec.max:
        raise ValueError(f"{name} must be at most {spec.max:g}")
    return value


def _parse(name, value, parser, example):
    if not isinstance(value, str):
        raise ValueError(f"{name} must be {example}")
    try:
        return parser(value)
    except ValueError:
        raise ValueError(f"{name} must be {example}") from None


def stored_size(fields: dict) -> int:
    """The bytes of `fields` as JSON (UTF-8, no spaces): what storing and sending a work order's fields costs."""
    return len(json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode())


def size_problems(stored: dict, values: dict) -> list[dict]:
    """One {field, message} when merging `values` into a work order's `stored` fields makes them larger than
    MAX_FIELDS_BYTES; none otherwise. A work order stored larger before the bound may still take a step that
    does not make it larger."""
    size = stored_size({**stored, **values})
    if size <= MAX_FIELDS_BYTES or (stored and size <= stored_size(stored)):
        return []
    return [{"field": "fields", "message": f"the fields of a work order together must be at most "
                                           f"{MAX_FIELDS_BYTES // 1024} KB as JSON; these would be {-(-size // 1024)} KB"}]


@dataclass(frozen=True)
class FieldModel:
    """The fields one step takes: their specs, which may be set and which must be."""

    specs: dict[str, FieldSpec]
    allowed: frozenset[str]
    required: frozenset[str]

    def __iter__(self):
        """(name, spec, required) for each allowed field, in the order the step lists them."""
        return ((name, spec, name in self.required) for name, spec in self.specs.items())

    def clean(self, values: dict) -> tuple[dict, list[dict]]:
        """The values in stored form, and one {field, message} per problem (all of them, not the first)."""
        errors, clean = [], {}
        for name in sorted(set(values) - self.allowed):
            errors.append({"field": f"fields.{name}",
                           "message": f"'{name}' cannot be set here; allowed: {', '.join(sorted(self.allowed)) or 'none'}"})
        for name in sorted(self.required):
            if values.get(name) in (None, "", []):
                errors.append({"field": f"fields.{name}", "message": f"{name} is required"})
        for name, value in values.items():
            if name not in self.allowed or value is None:
                continue
            try:
                clean[name] = coerce(name, self.specs[name], value)
            except ValueError as exc:
                errors.append({"field": f"fields.{name}", "message": str(exc)})
        return clean, errors


def field_model(specs: dict[str, FieldSpec], *, allowed, required=()) -> FieldModel:
    """`allowed` in the order forms should show them (an event's own order, or the definition's)."""
    ordered = {name: specs[name] for name in allowed if name in specs}
    return FieldModel(ordered, frozenset(ordered), frozenset(required))
