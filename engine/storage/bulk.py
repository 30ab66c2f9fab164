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
from collections.abc import Callable, Iterable
from functools import lru_cache

from pydantic_core import PydanticUndefined
from sqlalchemy import JSON, Boolean, DateTime, Float, Integer, String, insert, inspect, text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm.attributes import get_history, set_committed_value
from sqlalchemy.orm.exc import StaleDataError
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
    table, source, read, encoders = _document(model, names, dialect)
    quote = dialect.identifier_preparer.quote
    statement = _statement(f"INSERT INTO {table} ({', '.join(map(quote, names))}) "
                           f"SELECT {', '.join(read[name] for name in names)} FROM {source}")
    session.execute(statement, {"rows": _encoded(rows, encoders)})


def write_changes(session: Session, objects: Iterable[SQLModel], columns: tuple[str, ...]) -> None:
    """What changed of `columns` on `objects` (loaded rows of one model, locked by this transaction), written with
    one UPDATE on PostgreSQL and taken as written, so that the flush, which writes them row by row, skips them.
    An object with other changes is left to the flush, as is everything on SQLite (in this process: as quick)."""
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        return
    changed = [obj for obj in objects if _changed_only(obj, columns)]
    if not changed:
        return
    model = type(changed[0])
    keys = tuple(column.name for column in model.__table__.primary_key)
    table, source, read, encoders = _document(model, keys + columns, dialect)
    quote = dialect.identifier_preparer.quote
    matching = " AND ".join(f"{table}.{quote(key)} = {read[key]}" for key in keys)
    statement = _statement(f"UPDATE {table} SET {', '.join(f'{quote(name)} = {read[name]}' for name in columns)} "
                           f"FROM {source} WHERE {matching}")
    rows = [{name: getattr(obj, name) for name in keys + columns} for obj in changed]
    with session.no_autoflush:  # else the flush would write them first, row by row
        matched = session.execute(statement, {"rows": _encoded(rows, encoders)}).rowcount
    if matched != len(rows):  # as the flush would: someone else deleted one meanwhile
        raise StaleDataError(f"UPDATE of {model.__tablename__} expected to update {len(rows)} rows; {matched} matched")
    for obj in changed:
        for name in columns:
            set_committed_value(obj, name, getattr(obj, name))


def _changed_only(obj: SQLModel, columns: tuple[str, ...]) -> bool:
    state = inspect(obj)
    changed = [name for name in state.committed_state if get_history(obj, name).has_changes()]
    return state.persistent and bool(changed) and set(changed) <= set(columns)


def _encoded(rows: list[dict], encoders: tuple) -> str:
    return json.dumps([{name: encode(row[name]) if encode else row[name] for name, encode in encoders} for row in rows])


@lru_cache(maxsize=None)
def _statement(sql: str):
    return text(sql)


@lru_cache(maxsize=None)
def _document(model: type[SQLModel], names: tuple[str, ...], dialect: Dialect):
    """The rows of `model` with the columns `names` as a JSON document, :rows: the quoted table, the source
    `json_to_recordset(:rows) AS given(name type, ...)`, each column's value read from it, and how each column's
    values are put into the document (None: as they are)."""
    quote = dialect.identifier_preparer.quote
    table = model.__table__
    columns, read, encoders = [], {}, []
    for name in names:
        stored, given, encode = _column(table.c[name].type, dialect)
        columns.append(f"{quote(name)} {given}")
        read[name] = f"CAST(given.{quote(name)} AS {stored})" if stored != given else f"given.{quote(name)}"
        encoders.append((name, encode))
    source = f"json_to_recordset(CAST(:rows AS JSON)) AS given({', '.join(columns)})"
    return dialect.identifier_preparer.format_table(table), source, read, tuple(encoders)


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
    if isinstance(column_type, (String, Integer, Float, Boolean)):
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
