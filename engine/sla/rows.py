"""The indexed sweep that every kind of timer row rides: SLA timers and auto-confirmations.

Both tables carry `next_check_at`, indexed, set when the row next needs looking
at and NULL once nothing is left. A sweep reads only the rows whose time has
come, a page at a time in index order (keyset paging), so it costs what is due,
never what is open. Each row (or, for escalations, each page) is then worked on
in its own transaction, which starts by claiming its rows: FOR UPDATE SKIP LOCKED
on PostgreSQL (concurrent sweepers share the rows out), BEGIN IMMEDIATE on SQLite
(they take turns, each reading what the last committed). What a worked row does is its kind's business
(engine/sla/escalation.py, engine/sla/autoconfirm.py).
"""
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import and_, or_
from sqlmodel import Session, select

BATCH = 500


def due_pages(session: Session, model, now: datetime, *, batch: int = BATCH) -> Iterator[list[int]]:
    """Ids of `model` rows with `next_check_at <= now`, in index order, a page at a time.

    A row skipped by its worker (locked by another sweeper, or conflicting with an edit) is
    left for the next sweep, never looped on: each page starts after the last one's end.
    """
    after: tuple[datetime, int] | None = None
    while True:
        query = select(model.next_check_at, model.id).where(model.next_check_at <= now)
        if after is not None:
            query = query.where(or_(model.next_check_at > after[0],
                                    and_(model.next_check_at == after[0], model.id > after[1])))
        page = session.exec(query.order_by(model.next_check_at, model.id).limit(batch)).all()
        session.rollback()  # end the read so that each row's transaction starts fresh
        if not page:
            return
        yield [row_id for _, row_id in page]
        after = tuple(page[-1])


def due_ids(session: Session, model, now: datetime, *, batch: int = BATCH) -> Iterator[int]:
    """The ids of `due_pages`, one by one."""
    for page in due_pages(session, model, now, batch=batch):
        yield from page


def sweep(session: Session, model, now: datetime, work: Callable[[Session, int, datetime], list], *,
          batch: int = BATCH) -> list:
    """`work(session, id, now)` for every due row of `model`; the results, joined."""
    done: list = []
    for row_id in due_ids(session, model, now, batch=batch):
        done += work(session, row_id, now)
    return done


def sweep_pages(session: Session, model, now: datetime, work: Callable[[Session, list[int], datetime], list], *,
                batch: int = BATCH) -> list:
    """`work(session, ids, now)` for every page of due rows of `model`; the results, joined."""
    done: list = []
    for page in due_pages(session, model, now, batch=batch):
        done += work(session, page, now)
    return done


def begin(session: Session) -> None:
    """Start a row's transaction; on SQLite take the write lock first, so what is read is what is updated."""
    session.rollback()
    if session.get_bind().dialect.name == "sqlite":
        session.connection().exec_driver_sql("BEGIN IMMEDIATE")


def claim(session: Session, query):
    """The row `query` finds, locked for this transaction; None if absent or held by another sweeper."""
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return session.exec(query.execution_options(populate_existing=True)).first()


def claim_all(session: Session, query) -> list:
    """The rows `query` finds, locked for this transaction; on PostgreSQL those held by another sweeper are left out."""
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.exec(query.execution_options(populate_existing=True)).all())


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector paused while a page is worked on. A page makes thousands of short-lived objects
    (rows, ORM states, messages), freed by reference counting; counted as they are made, they would set off
    collections that walk every object of the process and find nothing to free: a quarter of a page's time.
    What cycles the page leaves are collected after it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
