"""The field model: which fields a step accepts or requires, and the value checks for each type.

A definition declares typed fields (`labour_minutes: integer`, `urgency: choice`);
creating a work order, editing it and each event accept some of them and require
some. The checks are pure so the compiled process can decide about a step without
a database, and every problem is reported at once, each naming its field.
"""
from dataclasses import dataclass
from datetime import date, datetime

from workflows.schema import FieldSpec


def coerce(name: str, spec: FieldSpec, value):
    """The value in its stored (JSON-friendly) form; ValueError says what to fix."""
    kind = spec.type
    if kind in ("string", "text", "user"):
        if not isinstance(value, str):
            raise ValueError(f"{name} must be text")
        if kind == "string" and len(value) > 500:
            raise ValueError(f"{name} must be at most 500 characters")
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
        return value
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
