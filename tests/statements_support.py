"""Counting what a test sends the database: the statements, as SQLAlchemy's cursor sees them."""
from contextlib import contextmanager

from sqlalchemy import event

from engine.storage import db as db_module


@contextmanager
def statements(bind):
    """`with statements(db_url or engine) as seen:` every statement sent meanwhile lands in `seen`."""
    engine = db_module.get_engine(bind) if isinstance(bind, str) else bind
    seen: list[str] = []

    def record(connection, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)
