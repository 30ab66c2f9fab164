"""One unit of work: whoever owns a request, a sweep step or a job commits; services never do.

Engine services (create, fire, give feedback, publish, add a user...) only add
and flush, so a caller can put several of them in one transaction: a feedback
with its transition, a recurring period with its claim, its work order and its
assignment. The owner is:
- the HTTP request (web.deps.get_session commits after the route returns and
  before the response is sent, so a conflict at commit still answers 409);
- one rung or one batch of the sweep (engine/sla/escalation.py, engine/notify/delivery.py);
- one worker job, one recurring period, one CLI command.

A stale version (StaleDataError: someone else committed the same work order
since it was read) becomes a Conflict with the message users know. Telling
outside channels waits for the commit by design: notifications are outbox rows
written in the same transaction, sent by the worker once committed. What must
be undone outside the database when a unit rolls back (a stored upload) is
registered with `after_rollback`.
"""
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session

from engine.errors import Conflict

STALE = "was changed by someone else at the same time; reload it and try again"
_AFTER_ROLLBACK = "houqin_after_rollback"


def stale_conflict(what: str = "the work order") -> Conflict:
    return Conflict(f"{what} {STALE}")


def flush(session: Session, what: str = "the work order") -> None:
    """Write pending changes now, inside the transaction; a lost optimistic-lock race is a Conflict."""
    try:
        session.flush()
    except StaleDataError:
        raise stale_conflict(what) from None


def commit(session: Session) -> None:
    """Commit; a stale version (or any failure) rolls everything back, and a stale version is a Conflict."""
    try:
        session.commit()
    except StaleDataError:
        rollback(session)
        raise stale_conflict() from None
    except BaseException:
        rollback(session)
        raise
    session.info.pop(_AFTER_ROLLBACK, None)


def rollback(session: Session) -> None:
    session.rollback()
    for action in session.info.pop(_AFTER_ROLLBACK, []):
        action()


@contextmanager
def unit_of_work(session: Session) -> Iterator[Session]:
    """`with unit_of_work(session):` commits when the block ends normally, rolls back when it raises."""
    try:
        yield session
    except BaseException:
        rollback(session)
        raise
    commit(session)


def after_rollback(session: Session, action: Callable[[], object]) -> None:
    """Run `action` if this unit of work is rolled back (and forget it once it commits)."""
    session.info.setdefault(_AFTER_ROLLBACK, []).append(action)
