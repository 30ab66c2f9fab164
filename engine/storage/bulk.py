"""Rows gathered to be written together: one INSERT per table, however many rows.

A batch of the SLA sweep fires hundreds of rungs, each writing an escalation, a
timeline entry or two, notifications and outbox deliveries. Built as ORM objects
and flushed, each costs a model's validation and the unit of work's bookkeeping;
gathered here as plain rows, each table is one executemany (PostgreSQL and SQLite
both), in the order the rows were added, so ids follow the order of events.
"""
from collections.abc import Callable
from functools import lru_cache

from pydantic_core import PydanticUndefined
from sqlalchemy import insert
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
                session.execute(insert(model.__table__), self.rows[model])
        self.rows.clear()


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
