"""The one grammar for spans of time, shared by definitions, schedules and calendars.

`15m`, `2h`, `1.5h`, `3d`, `1w` (also spelt `15 min`, `2 hours`, `3 days`,
`3 working days`): an amount and a unit. What a day means is the reader's
choice, not the grammar's: an SLA target or an auto-confirmation wait counts
working days on its calendar (`BusinessCalendar.after`), a schedule's interval
counts days on the wall clock (`Duration.wall`). Parsed once, when a file is
loaded; the engine only ever sees `Duration` objects.
"""
import re
from datetime import timedelta

from pydantic import BaseModel, ConfigDict

_DURATION = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*(m|min|mins|minutes?|h|hours?|d|days?|wd|working\s+days?|w|weeks?)\s*$", re.I
)
WORKING_TIME_HINT = "write e.g. '15m', '2h', '3d' (days count as working days)"
WALL_CLOCK_HINT = "write e.g. '30m', '8h', '1d' or '1w'"


class Duration(BaseModel):
    """A span of time: minutes, then whole days (working days on a calendar, plain days on the wall clock)."""

    model_config = ConfigDict(frozen=True)

    minutes: float = 0
    days: int = 0

    @classmethod
    def parse(cls, text: "str | int | Duration", *, weeks: bool = False) -> "Duration":
        """`weeks`: whether `w` is allowed (wall-clock spans only: a week is not seven working days)."""
        if isinstance(text, Duration):
            return text
        if isinstance(text, int) and not isinstance(text, bool):
            return cls(minutes=text)
        match = _DURATION.match(str(text))
        unit = match.group(2).lower() if match else ""
        if not match or (unit.startswith("w") and not unit.startswith("wd") and not unit.startswith("working")
                         and not weeks):
            raise ValueError(f"'{text}' is not a duration: {WALL_CLOCK_HINT if weeks else WORKING_TIME_HINT}")
        amount = float(match.group(1))
        if unit.startswith("m"):
            return cls(minutes=amount)
        if unit.startswith("h"):
            return cls(minutes=amount * 60)
        if amount != int(amount):
            raise ValueError(f"'{text}': days must be a whole number; use hours for part of a day")
        if unit.startswith("w") and not unit.startswith("wd") and not unit.startswith("working"):
            return cls(days=int(amount) * 7)
        return cls(days=int(amount))

    def __neg__(self) -> "Duration":
        return Duration(minutes=-self.minutes, days=-self.days)

    @property
    def negative(self) -> bool:
        return self.minutes < 0 or self.days < 0

    def wall(self) -> timedelta:
        """As wall-clock time (schedules): a day is 24 hours of the clock, open or not."""
        return timedelta(days=self.days, minutes=self.minutes)


def parse_span(text: str) -> timedelta:
    """A wall-clock span (`30m`, `8h`, `1d`, `1w`) for schedule intervals and lateness."""
    try:
        return Duration.parse(text, weeks=True).wall()
    except ValueError:
        raise ValueError(f"'{text}' is not a span of time: {WALL_CLOCK_HINT}") from None
