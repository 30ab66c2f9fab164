"""The engine's idea of "now", replaceable so that SLA logic can be tested without waiting."""
from datetime import datetime, timezone


class Clock:
    """Real time unless a fixed instant has been set (tests and `HOUQIN_TEST_CLOCK`)."""

    def __init__(self):
        self._fixed: datetime | None = None

    def now(self) -> datetime:
        return self._fixed or datetime.now(timezone.utc)

    def set(self, instant: datetime | None) -> None:
        if instant is not None and instant.tzinfo is None:
            raise ValueError("the clock needs a time with a timezone, e.g. 2026-10-09T17:00:00+08:00")
        self._fixed = instant.astimezone(timezone.utc) if instant else None

    def advance(self, **delta) -> datetime:
        from datetime import timedelta

        self.set(self.now() + timedelta(**delta))
        return self.now()


clock = Clock()
