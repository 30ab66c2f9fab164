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
from workflows.refusals import problem
from workflows.schema import FieldSpec


class FieldProblem(ValueError):
    """What is wrong with one value: a code the catalogue says (`errors.<code>`), with its params; `field` is the
    field's name, or an item's (`parts[2]`)."""

    def __init__(self, field: str, code: str, /, **params):
        self.field, self.code, self.params = field, code, params
        super().__init__(f"{field}: {code} {params}")


def coerce(name: str, spec: FieldSpec, value):
    """The value in its stored (JSON-friendly) form; FieldProblem says what to fix."""
    kind = spec.type
    if kind in ("string", "text", "user"):
        if not isinstance(value, str):
            raise FieldProblem(name, "must_be_text")
        if len(value) > spec.length_limit:
            raise FieldProblem(name, "too_long", max=spec.length_limit)
        return value
    if kind == "choice":
        if value not in spec.choices:
            raise FieldProblem(name, "not_a_choice", choices=list(spec.choices),
                               choice_labels=[c.label.model_dump() if c.label else str(c) for c in spec.choices])
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise FieldProblem(name, "must_be_boolean")
        return value
    if kind in ("integer", "number"):
        return _number(name, spec, value)
    if kind == "list":
        if not isinstance(value, list):
            raise FieldProblem(name, "must_be_list")
        if len(value) > spec.item_limit:
            raise FieldProblem(name, "too_many_items", max=spec.item_limit)
        return [coerce(f"{name}[{index}]", spec.item, item) for index, item in enumerate(value)]
    if kind == "date":
        return _parse(name, value, date.fromisoformat, "not_a_date").isoformat()
    if kind == "datetime":
        parsed = _parse(name, value, datetime.fromisoformat, "not_a_time")
        if parsed.tzinfo is None:
            raise FieldProblem(name, "needs_time_zone")
        return parsed.isoformat()
    raise FieldProblem(name, "unknown_field_type", type=kind)


def _number(name: str, spec: FieldSpec, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FieldProblem(name, "must_be_number")
    # NaN and infinities are no JSON; past 2**53 a JSON reader (a browser) no longer reads the number exactly.
    if (isinstance(value, float) and not math.isfinite(value)) or abs(value) > MAX_NUMBER:
        raise FieldProblem(name, "number_beyond", max=MAX_NUMBER)
    if spec.type == "integer":
        if value != int(value):
            raise FieldProblem(name, "must_be_whole")
        value = int(value)
    if spec.min is not None and value < spec.min:
        raise FieldProblem(name, "too_small", min=f"{spec.min:g}")
    if spec.max is not None and value > spec.max:
        raise FieldProblem(name, "too_big", max=f"{spec.max:g}")
    return value


def _parse(name, value, parser, code: str):
    if not isinstance(value, str):
        raise FieldProblem(name, code)
    try:
        return parser(value)
    except ValueError:
        raise FieldProblem(name, code) from None


def stored_size(fields: dict) -> int:
    """The bytes of `fields` as JSON (UTF-8, no spaces): what storing and sending a work order's fields costs."""
    return len(json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode())


def size_problems(stored: dict, values: dict) -> list[dict]:
    """One problem when merging `values` into a work order's `stored` fields makes them larger than
    MAX_FIELDS_BYTES; none otherwise. A work order stored larger before the bound may still take a step that
    does not make it larger."""
    size = stored_size({**stored, **values})
    if size <= MAX_FIELDS_BYTES or (stored and size <= stored_size(stored)):
        return []
    return [problem("fields", "fields_too_large", max_kb=MAX_FIELDS_BYTES // 1024, size_kb=-(-size // 1024))]


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
        """The values in stored form, and one {field, code, params} per problem (all of them, not the first)."""
        errors, clean = [], {}
        for name in sorted(set(values) - self.allowed):
            errors.append(problem(f"fields.{name}", "not_settable_here", allowed=sorted(self.allowed),
                                  allowed_labels=[self._label(field) for field in sorted(self.allowed)]))
        for name in sorted(self.required):
            if values.get(name) in (None, "", []):
                errors.append(problem(f"fields.{name}", "required"))
        for name, value in values.items():
            if name not in self.allowed or value is None:
                continue
            try:
                clean[name] = coerce(name, self.specs[name], value)
            except FieldProblem as exc:  # an item's problem names the item (parts[2]) and is the list's
                item = {"field": exc.field} if exc.field != name else {}
                errors.append(problem(f"fields.{name}", exc.code, **exc.params, **item))
        return clean, errors


    def _label(self, name: str) -> dict | str:
        label = self.specs[name].label
        return label.model_dump() if label else name


def field_model(specs: dict[str, FieldSpec], *, allowed, required=()) -> FieldModel:
    """`allowed` in the order forms should show them (an event's own order, or the definition's)."""
    ordered = {name: specs[name] for name in allowed if name in specs}
    return FieldModel(ordered, frozenset(ordered), frozenset(required))
