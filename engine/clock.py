"""What "now" is, handed to the engine by whoever owns the work.

Engine functions take `now` from their caller and never ask the time
themselves: an HTTP request reads its app's clock once (web.deps.ClockDep), the
worker and sweeper read the clock they were built with, a CLI command reads the
real time. So a test freezes or moves one clock object and nothing else in the
process sees it; there is no process-wide clock a request could set.
"""
from datetime import datetime, timedelta, timezone


class Clock:
    """Real time unless a fixed instant has been set (tests, and an app started with HOUQIN_TEST_CLOCK=1)."""

    def __init__(self, fixed: datetime | None = None):
        self._fixed: datetime | None = None
        self.set(fixed)

    def now(self) -> datetime:
        return self._fixed or datetime.now(timezone.utc)

    def set(self, instant: datetime | None) -> None:
        if instant is not None and instant.tzinfo is None:
            raise ValueError("the clock needs a time with a timezone, e.g. 2026-10-09T17:00:00+08:00")
        self._fixed = instant.astimezone(timezone.utc) if instant else None

    def advance(self, **delta) -> datetime:
        self.set(self.now() + timedelta(**delta))
        return self.now()


def real_now() -> datetime:
    """The real time, for callers with no clock of their own (CLI commands)."""
    return datetime.now(timezone.utc)
