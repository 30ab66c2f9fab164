"""Periods as the hospital speaks of them: local days and months in its time zone.

Reports and filters take `2026-10-01` or a full time with a zone; a month is
`2026-10`. Everything is turned into aware instants here, so queries compare
instants and never local wall-clock text.
"""
import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from engine import settings
from engine.errors import FIELDS_INVALID, Invalid, problem


def zone() -> ZoneInfo:
    return ZoneInfo(settings.timezone())


def local(moment: datetime | None) -> datetime | None:
    return moment.astimezone(zone()) if moment is not None else None


def start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone())


def bound(text: str | None, *, name: str, end: bool = False) -> datetime | None:
    """`2026-10-01` (a local day; as an end it includes that whole day) or `2026-10-01T08:00:00+08:00`."""
    if text is None or text == "":
        return None
    text = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise _bad(name, text) from None
        return start_of(day + timedelta(days=1) if end else day)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _bad(name, text) from None
    if moment.tzinfo is None:
        raise Invalid(FIELDS_INVALID, [problem(name, "zone_or_day")])
    return moment


def _bad(name: str, text: str) -> Invalid:
    return Invalid(FIELDS_INVALID, [problem(name, "not_a_day_or_time", value=text)])


def month(text: str) -> tuple[datetime, datetime]:
    """`2026-10` → the local start of October and of November."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", (text or "").strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise Invalid(FIELDS_INVALID, [problem("month", "not_a_month", value=text)])
    year, number = int(match.group(1)), int(match.group(2))
    following = date(year + number // 12, number % 12 + 1, 1)
    return start_of(date(year, number, 1)), start_of(following)


def months(start: datetime, end: datetime) -> list[str]:
    """The local months `YYYY-MM` that [start, end) touches, oldest first."""
    first, last = local(start).date().replace(day=1), local(end - timedelta(microseconds=1)).date()
    found = []
    while first <= last:
        found.append(f"{first.year:04d}-{first.month:02d}")
        first = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return found
