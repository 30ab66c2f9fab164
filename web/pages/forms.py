"""Forms generated from a definition's fields, and the typed values read back from them.

An HTML form sends text; the engine wants the types the definition declares
(`labour_minutes: integer`, `parts: list`). This module only converts — every
rule (required, ranges, choices) is checked by the step's field model
(workflows.fields) when the engine receives the values, and its messages are
shown next to the form.
"""
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from starlette.datastructures import FormData

from engine import settings
from web.i18n import Translator
from workflows.schema import FieldSpec, ProcessDefinition

PREFIX = "f."  # form names of definition fields, apart from title, comment, csrf_token...


@dataclass
class Field:
    name: str
    spec: FieldSpec
    label: str
    required: bool
    value: object = None
    help: str = ""

    @property
    def input_name(self) -> str:
        return PREFIX + self.name

    @property
    def text(self) -> str:
        """The value as the input shows it."""
        value = self.value
        if value is None:
            return ""
        if isinstance(value, list):
            return "\n".join(str(v) for v in value)
        if self.spec.type == "datetime" and isinstance(value, str):
            try:
                return datetime.fromisoformat(value).astimezone(ZoneInfo(settings.timezone())).strftime("%Y-%m-%dT%H:%M")
            except ValueError:
                return value
        return str(value)


def creation_fields(definition: ProcessDefinition) -> list[str]:
    """The fields a requester fills in: those no event collects later (labour minutes belong to `resolve`)."""
    collected = {name for event in definition.events for name in event.fields}
    return [name for name in definition.fields if name not in collected]


def fields_for(definition: ProcessDefinition, wanted: dict[str, bool], t: Translator, values: dict | None = None) -> list[Field]:
    """`wanted`: field name → required."""
    values = values or {}
    out = []
    for name, required in wanted.items():
        spec = definition.fields.get(name)
        if spec is None:
            continue
        out.append(Field(name=name, spec=spec, label=t.label(spec.label) if spec.label else name,
                         required=required, value=values.get(name), help=t.label(spec.help) if spec.help else ""))
    return out


def read(form: FormData, fields: list[Field], t: Translator) -> tuple[dict, dict[str, str]]:
    """Typed values from the form, and a message for each field whose text is not of its type."""
    values, errors = {}, {}
    for field in fields:
        kind = field.spec.type
        if kind == "boolean":
            if field.input_name in form or field.required:
                values[field.name] = form.get(field.input_name) in ("on", "true", "1")
            continue
        raw = form.get(field.input_name)
        raw = raw.strip() if isinstance(raw, str) else ""
        field.value = raw
        if raw == "":
            continue
        try:
            if kind == "list":  # one item a line, each of the list's item type
                item = field.spec.value_type
                values[field.name] = [_convert(item, line.strip()) for line in raw.splitlines() if line.strip()]
            else:
                values[field.name] = _convert(kind, raw)
        except ValueError:
            errors[field.name] = t(f"form.bad_{field.spec.value_type}", field=field.label)
    return values, errors


def _convert(kind: str, raw: str):
    if kind == "integer":
        return int(raw)
    if kind == "number":
        number = float(raw)
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError(raw)
        return int(number) if number.is_integer() else number
    if kind == "date":
        return date.fromisoformat(raw).isoformat()
    if kind == "datetime":
        moment = datetime.fromisoformat(raw)  # a datetime-local input: the hospital's local time
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo(settings.timezone()))
        return moment.isoformat()
    return raw
