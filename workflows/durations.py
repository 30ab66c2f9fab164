"""The one grammar for spans of time, shared by definitions, schedules and calendars.

`15m`, `2h`, `1.5h`, `3d`, `1w` (also spelt `15 min`, `2 hours`, `3 days`,
`3 working days`): an amount and a unit. What a day means is the reader's
choice, not the grammar's: an SLA target or an auto-confirmation wait counts
working days on its calendar (`BusinessCalendar.after`), a schedule's interval
counts days on the wall clock (`Duration.wall`). Parsed once, when a file is
loaded; the engine only ever sees `Duration` objects, none longer than
MAX_SPAN_DAYS (workflows.limits): due times are found by walking a calendar day
by day, so a span of a million years would be a million years of walking.
"""
import re
from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from workflows.errors import coded
from workflows.limits import MAX_SPAN_DAYS, MAX_SPAN_MINUTES

_DURATION = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*(m|min|mins|minutes?|h|hours?|d|days?|wd|working\s+days?|w|weeks?)\s*$", re.I
)
WORKING_TIME_HINT = "write e.g. '15m', '2h', '3d' (days count as working days)"
WALL_CLOCK_HINT = "write e.g. '30m', '8h', '1d' or '1w'"
TOO_LONG = f"the longest span of time a definition may name is {MAX_SPAN_DAYS} days ({MAX_SPAN_MINUTES}m)"


_MINUTES = {"minute": 1, "hour": 60, "day": 24 * 60, "week": 7 * 24 * 60}


def _unit(word: str) -> str:
    word = word.lower()
    if word.startswith(("wd", "working")):
        return "day"
    return {"m": "minute", "h": "hour", "d": "day", "w": "week"}[word[0]]


class SpanTooLong(PydanticCustomError):
    """A span past MAX_SPAN_DAYS: well written, but longer than the engine will walk (a ValueError)."""

    def __new__(cls, text: str, english: str):
        return super().__new__(cls, "definition_span_too_long", english,
                               {"value": text, "days": MAX_SPAN_DAYS, "minutes": MAX_SPAN_MINUTES})


class Duration(BaseModel):
    """A span of time: minutes, then whole days (working days on a calendar, plain days on the wall clock)."""

    model_config = ConfigDict(frozen=True)

    # Negative only as a rung's shift before the due time (`due - 30m`).
    minutes: float = Field(default=0, ge=-MAX_SPAN_MINUTES, le=MAX_SPAN_MINUTES, allow_inf_nan=False)
    days: int = Field(default=0, ge=-MAX_SPAN_DAYS, le=MAX_SPAN_DAYS)

    @classmethod
    def parse(cls, text: "str | int | Duration", *, weeks: bool = False) -> "Duration":
        """`weeks`: whether `w` is allowed (wall-clock spans only: a week is not seven working days)."""
        if isinstance(text, Duration):
            return text
        if isinstance(text, int) and not isinstance(text, bool):  # a bare number is minutes
            if text < 0:
                raise coded("definition_duration", f"'{text}' is not a duration: {WORKING_TIME_HINT}", value=str(text))
            if text > MAX_SPAN_MINUTES:
                raise SpanTooLong(str(text), f"'{text}' minutes is too long: {TOO_LONG}")
            return cls(minutes=text)
        match = _DURATION.match(str(text))
        unit = _unit(match.group(2)) if match else None
        if unit is None or (unit == "week" and not weeks):
            raise coded("definition_duration_wall" if weeks else "definition_duration",
                        f"'{text}' is not a duration: {WALL_CLOCK_HINT if weeks else WORKING_TIME_HINT}", value=str(text))
        amount = float(match.group(1))
        if amount * _MINUTES[unit] > MAX_SPAN_MINUTES:
            raise SpanTooLong(str(text), f"'{text}' is too long: {TOO_LONG}")
        if unit in ("minute", "hour"):
            return cls(minutes=amount * _MINUTES[unit])
        if amount != int(amount):
            raise coded("definition_duration_whole_days", f"'{text}': days must be a whole number; use hours for "
                        "part of a day", value=str(text))
        return cls(days=int(amount) * (7 if unit == "week" else 1))

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
    except SpanTooLong:
        raise
    except ValueError:
        raise coded("definition_duration_wall", f"'{text}' is not a span of time: {WALL_CLOCK_HINT}",
                    value=str(text)) from None
