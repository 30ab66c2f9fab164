"""Limiting password guesses: a few failures per username and address, then a wait.

The failures are rows in the database (`login_failures`), so every worker
process behind the same database counts the same failures: N workers do not
make the limit N times looser. A failure or success is written in the
request's own unit of work, and the routes that count one answer without
raising, so it is committed with whatever else the sign-in wrote (a directory
user brought up to date): a second transaction beside the request's would wait
on the request's own write lock on SQLite. Rows older than the window are
pruned whenever a failure is recorded, so the table holds at most a window's
worth of failures.

Time comes from the caller (the app's clock), so tests move it instead of waiting.
"""
import math
from datetime import datetime, timedelta

from sqlalchemy import delete, func
from sqlmodel import Session, select

from engine.storage.db import get_engine
from engine.storage.models import LoginFailure

FAILURES = 5
WINDOW = timedelta(minutes=15)


class LoginLimiter:
    """One per app; it counts in the database the app's settings name."""

    def __init__(self, app, failures: int = FAILURES, window: timedelta = WINDOW):
        self.app, self.failures, self.window = app, failures, window

    def _session(self) -> Session:
        return Session(get_engine(self.app.state.settings.database), expire_on_commit=False)

    @staticmethod
    def _key(username: str, address: str) -> tuple[str, str]:
        return username.strip().lower()[:64], address[:64]

    def retry_after(self, username: str, address: str, now: datetime) -> int:
        """Seconds until another attempt is allowed; 0 when it is allowed now."""
        name, address = self._key(username, address)
        with self._session() as session:
            count, oldest = session.exec(
                select(func.count(), func.min(LoginFailure.at)).where(
                    LoginFailure.username == name, LoginFailure.address == address, LoginFailure.at > now - self.window)
            ).one()
        if count < self.failures:
            return 0
        return max(1, math.ceil((oldest + self.window - now).total_seconds()))

    def failed(self, session: Session, username: str, address: str, now: datetime) -> None:
        """Count a failure, in the request's unit of work (which must then commit: answer, do not raise)."""
        name, address = self._key(username, address)
        session.execute(delete(LoginFailure).where(LoginFailure.at <= now - self.window))
        session.add(LoginFailure(username=name, address=address, at=now))

    def succeeded(self, session: Session, username: str, address: str) -> None:
        name, address = self._key(username, address)
        session.execute(delete(LoginFailure).where(LoginFailure.username == name, LoginFailure.address == address))
