"""Rows gathered to be written together: one INSERT per table, however many rows.

A batch of the SLA sweep fires hundreds of rungs, each writing an escalation, a
timeline entry or two, notifications and outbox deliveries. Built as ORM objects
and flushed, each costs a model's validation and the unit of work's bookkeeping;
gathered here as plain rows, each table is one statement, in the order the rows
were added, so ids follow the order of events.

On PostgreSQL the rows travel as one JSON document, unpacked by the server
(INSERT ... SELECT FROM json_to_recordset): an executemany is still one statement
per row for the server (bound, planned and run row by row, pipelined but not
shared) and one set of parameters per row for the driver to adapt (text, JSON,
times), which together cost the sweep more than its rungs' own work. SQLite runs
in this process, where an executemany is as quick.
"""
import json
from collections.abc import Callable
from functools import lru_cache

from pydantic_core import PydanticUndefined
from sqlalchemy import JSON, Boolean, DateTime, Integer, String, insert, text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, SQLModel


class Bulk:
    """Rows per model, written by `write` in the order the models were first added to (parents before children)."""

    def __init__(self) -> None:
        self.rows: dict[type[SQLModel], list[dict]] = {}

    def add(self, model: type[SQLModel], **values) -> dict:
        """A row of `model` with its declared defaults for what `values` leaves out; kept to be written."""
        row = {name: make() for name, make in _defaults(model).items()}
        row.update(values)
        self.rows.setdefault(model, []).append(row)
        return row

    def of(self, model: type[SQLModel]) -> list[dict]:
        return self.rows.get(model, [])

    def write(self, session: Session, *, first: tuple[type[SQLModel], ...] = ()) -> None:
        """One INSERT per model, in the session's transaction; the models in `first` go before the others."""
        order = [model for model in first if model in self.rows] + [m for m in self.rows if m not in first]
        for model in order:
            if self.rows[model]:
                _insert(session, model, self.rows[model])
        self.rows.clear()


def _insert(session: Session, model: type[SQLModel], rows: list[dict]) -> None:
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        session.execute(insert(model.__table__), rows)
        return
    names = tuple(rows[0])  # every row has the same keys (_defaults)
    statement, encoders = _from_json(model, names, dialect)
    document = [{name: encode(row[name]) if encode else row[name] for name, encode in encoders} for row in rows]
    session.execute(statement, {"rows": json.dumps(document)})


@lru_cache(maxsize=None)
def _from_json(model: type[SQLModel], names: tuple[str, ...], dialect: Dialect):
    """INSERT INTO t (names) SELECT names FROM json_to_recordset(:rows) AS given(name type, ...), and how each
    column's values are put into the document (None: as they are)."""
    quote = dialect.identifier_preparer.quote
    table = model.__table__
    columns, selected, encoders = [], [], []
    for name in names:
        stored, given, encode = _column(table.c[name].type, dialect)
        columns.append(f"{quote(name)} {given}")
        selected.append(f"CAST(given.{quote(name)} AS {stored})" if stored != given else f"given.{quote(name)}")
        encoders.append((name, encode))
    statement = text(f"INSERT INTO {dialect.identifier_preparer.format_table(table)} ({', '.join(map(quote, names))}) "
                     f"SELECT {', '.join(selected)} FROM json_to_recordset(CAST(:rows AS JSON)) "
                     f"AS given({', '.join(columns)})")
    return statement, tuple(encoders)


def _column(column_type, dialect: Dialect) -> tuple[str, str, Callable | None]:
    """The column's type, the type its values are read as from the document, and how a value goes in: as the
    column's type binds it (an aware time to naive UTC, a JSON value serialized as the driver would), in JSON
    the server reads back to the same value. A string too long for its column fails as in a plain INSERT."""
    bind = None
    if isinstance(column_type, TypeDecorator):
        if type(column_type).process_bind_param is not TypeDecorator.process_bind_param:
            bind = (lambda decorator: lambda value: decorator.process_bind_param(value, dialect))(column_type)
        column_type = column_type.impl_instance
    stored = column_type.compile(dialect=dialect)
    if isinstance(column_type, JSON):  # as text, exactly as serialized, cast to JSON by the server
        serialize = _serializer(column_type, dialect)
        return stored, "TEXT", (lambda value: serialize(bind(value))) if bind else serialize
    if isinstance(column_type, DateTime):
        return stored, stored, lambda value: _iso(bind(value) if bind else value)
    if isinstance(column_type, (String, Integer, Boolean)):
        return stored, stored, bind
    raise TypeError(f"no JSON form for a column of {column_type!r}")


def _serializer(column_type: JSON, dialect: Dialect) -> Callable:
    """A JSON value as the driver would send it: None is JSON null unless the column keeps it as NULL."""
    dumps = dialect._json_serializer or json.dumps

    def serialize(value):
        return None if value is None and column_type.none_as_null else dumps(value)
    return serialize


def _iso(value):
    return None if value is None else value.isoformat()


@lru_cache(maxsize=None)
def _defaults(model: type[SQLModel]) -> dict[str, Callable[[], object]]:
    """Every column but the generated id, with how its default is made: every row of a model has the same
    keys, as one executemany needs."""
    made = {}
    for name, info in model.model_fields.items():
        if name == "id" or name not in model.__table__.c:
            continue
        if info.default_factory is not None:
            made[name] = info.default_factory
        elif info.default is not PydanticUndefined:
            made[name] = (lambda value: lambda: value)(info.default)
        else:
            made[name] = lambda: None  # required: the caller gives it
    return made
