"""One unit of work: whoever owns a request, a sweep step or a job commits; services never do.

Engine services (create, fire, give feedback, publish, add a user...) only add
and flush, so a caller can put several of them in one transaction: a feedback
with its transition, a recurring period with its claim, its work order and its
assignment. The owner is:
- the HTTP request (web.deps.get_session commits after the route returns and
  before the response is sent, so a conflict at commit still answers 409);
- one rung or one batch of the sweep (engine/sla/escalation.py, engine/notify/delivery.py);
- one worker job, one recurring period, one CLI command.

Losing a race to someone acting at the same moment becomes a Conflict (409 with
the message users know) in one place, `conflict_in`, wherever it surfaces: a stale
version (StaleDataError: someone else committed the same work order since it was
read, found at a flush, an autoflush or the commit), a deadlock or serialization
failure on PostgreSQL, a lock wait that ran out on SQLite. Telling
outside channels waits for the commit by design: notifications are outbox rows
written in the same transaction, sent by the worker once committed. What must
be undone outside the database when a unit rolls back (a stored upload) is
registered with `after_rollback`.
"""
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from itertools import chain

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session

from engine.errors import Conflict

STALE = "changed_meanwhile"  # the Conflict's code: someone else saved it at the same time
_AFTER_ROLLBACK = "houqin_after_rollback"
# PostgreSQL's codes for "another transaction got in the way": serialization failure, deadlock, lock not available.
_RACE_CODES = {"40001", "40P01", "55P03"}


def conflict_in(error: BaseException, number: str | None = None) -> Conflict | None:
    """The Conflict a lost race is reported as (naming the work order `number` when known), or None when `error`
    is not one."""
    if isinstance(error, StaleDataError) or (isinstance(error, DBAPIError) and _is_race(error.orig)):
        return Conflict(STALE, number=number) if number else Conflict(STALE)
    return None


def _is_race(error: BaseException | None) -> bool:
    if getattr(error, "sqlstate", None) in _RACE_CODES:  # psycopg
        return True
    return type(error).__name__ == "OperationalError" and "database is locked" in str(error)  # sqlite3


@contextmanager
def conflicts_as(number: str) -> Iterator[None]:
    """Inside the block, a lost race is a Conflict naming the work order `number` (e.g. RP-2026-000001)."""
    try:
        yield
    except (StaleDataError, DBAPIError) as error:
        conflict = conflict_in(error, number)
        if conflict is None:
            raise
        raise conflict from None


def flush(session: Session, number: str | None = None) -> None:
    """Write pending changes now, inside the transaction; a lost race is a Conflict (naming work order `number`)."""
    with conflicts_as(number):
        session.flush()


def reading(session: Session, *models: type) -> AbstractContextManager:
    """Around a query of `models`' tables: no autoflush unless something pending is one of them.

    A step writes its work order and history once, at its end: a flush each time it reads its timers,
    users or channels would only write early what the query cannot see (and costs a flush each)."""
    if any(isinstance(obj, models) for obj in chain(session.new, session.dirty, session.deleted)):
        return nullcontext()
    return session.no_autoflush


def commit(session: Session) -> None:
    """Commit; any failure rolls everything back, and a lost race is a Conflict."""
    try:
        session.commit()
    except BaseException as error:
        rollback(session)
        conflict = conflict_in(error)
        if conflict is None:
            raise
        raise conflict from None
    session.info.pop(_AFTER_ROLLBACK, None)


def rollback(session: Session) -> None:
    session.rollback()
    for action in session.info.pop(_AFTER_ROLLBACK, []):
        action()


@contextmanager
def unit_of_work(session: Session) -> Iterator[Session]:
    """`with unit_of_work(session):` commits when the block ends normally, rolls back when it raises.

    A lost race that surfaced in the block outside any `conflicts_as` (an autoflush before a query) is
    raised as a Conflict too, so the owner answers 409 and not 500."""
    try:
        yield session
    except BaseException as error:
        rollback(session)
        conflict = conflict_in(error)
        if conflict is None:
            raise
        raise conflict from None
    commit(session)


def after_rollback(session: Session, action: Callable[[], object]) -> None:
    """Run `action` if this unit of work is rolled back (and forget it once it commits)."""
    session.info.setdefault(_AFTER_ROLLBACK, []).append(action)
