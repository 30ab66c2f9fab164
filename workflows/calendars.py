"""Business calendars: the language of calendars.yaml and the arithmetic of open time.

A calendar says when the clock of a work-order SLA runs: which local hours are
open on which days, which days are holidays.  Calendars are declared in
``definitions/calendars.yaml`` (see the comments there for the format); a file
is read with positions, so each error names its line and column.  Like a
process definition this is data: the engine stores each changed text as a new
version and compiles each version once (engine/sla/calendar.py); nothing here
knows about the database.

All public methods accept timezone-aware datetimes in any zone and return
UTC-aware datetimes.  Open intervals are computed once per local day and cached,
so every calculation walks day by day, never minute by minute.
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from workflows import bounded_yaml
from workflows.durations import Duration

log = logging.getLogger(__name__)

UTC = timezone.utc
DEFAULT_PATH = Path(__file__).resolve().parents[1] / "definitions" / "calendars.yaml"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SPEC_KEYS = {"timezone", "always_open", "hours", "holidays", "extra_holidays",
             "extra_workdays", "workday_hours_from", "known_years"}
# A calendar with no open day in this many days is broken; stop instead of looping forever.
MAX_SEARCH_DAYS = 3660

Hours = tuple[tuple[time, time], ...]  # sorted, non-overlapping local (open, close); close may be 24:00
Interval = tuple[datetime, datetime]   # UTC-aware (open, close)


class CalendarError(ValueError):
    """A calendar definition is invalid, or an unknown calendar was asked for. `code` and `params`, when given,
    say a calendar file's problem from the catalogue (`errors.<code>`); the message is the command line's English."""

    def __init__(self, message: str, code: str | None = None, params: dict | None = None):
        super().__init__(message)
        self.code, self.params = code, params or {}


class UnknownCalendarError(CalendarError, KeyError):
    """get_calendar() was given a name that is not defined (catchable as KeyError too)."""

    __str__ = ValueError.__str__  # KeyError would repr() the message


_warned_years: set[tuple[str, int]] = set()


@lru_cache(maxsize=None)
def _package_knows(year: int) -> bool:
    """True if chinese_calendar has this year's official holiday schedule."""
    try:
        chinese_calendar.is_holiday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


class BusinessCalendar:
    def __init__(self, name: str, tz: ZoneInfo, *, always_open: bool = False,
                 hours: dict[int, Hours] | None = None, chinese_holidays: bool = False,
                 extra_holidays: frozenset[date] = frozenset(),
                 extra_workdays: frozenset[date] = frozenset(),
                 workday_hours_from: int = 0, known_years: frozenset[int] = frozenset()):
        self.name = name
        self.timezone = tz
        self.always_open = always_open
        self.hours = hours or {}
        self.chinese_holidays = chinese_holidays
        self.extra_holidays = extra_holidays
        self.extra_workdays = extra_workdays
        self.workday_hours_from = workday_hours_from
        self.known_years = known_years
        # Per-instance cache: the intervals of a local day never change.
        self._intervals = lru_cache(maxsize=4096)(self._compute_intervals)

    def __repr__(self) -> str:
        return f"BusinessCalendar({self.name!r}, {self.timezone.key!r})"

    # ---- days ---------------------------------------------------------------

    def is_covered(self, year: int) -> bool:
        """True if this year's holidays are known (from the package or the YAML)."""
        return not self.chinese_holidays or year in self.known_years or _package_knows(year)

    def _day_kind(self, d: date) -> str:
        """'holiday', 'makeup' (a working day that would otherwise be off) or 'normal'."""
        if d in self.extra_holidays:
            return "holiday"
        if d in self.extra_workdays:
            return "makeup"
        if not self.chinese_holidays or not _package_knows(d.year):
            if not self.is_covered(d.year):
                self._warn_uncovered(d.year)
            return "normal"
        if d in chinese_calendar.holidays:
            return "holiday"
        if d in chinese_calendar.workdays:
            return "makeup"
        return "normal"

    def _warn_uncovered(self, year: int) -> None:
        if (self.name, year) not in _warned_years:
            _warned_years.add((self.name, year))
            log.warning("calendar %r: no holiday data for %d; counting %d weekdays as working days. "
                        "Add the year's extra_holidays, extra_workdays and known_years to calendars.yaml.",
                        self.name, year, year)

    def _day_hours(self, d: date) -> Hours:
        if self.always_open:
            return ((time(0), time(0)),)  # midnight to next midnight
        kind = self._day_kind(d)
        if kind == "holiday":
            return ()
        own = self.hours.get(d.weekday(), ())
        if kind == "makeup" and (d.weekday() >= 5 or not own):
            return self.hours[self.workday_hours_from]  # a make-up day works like a normal weekday
        return own

    def is_working_day(self, d: date) -> bool:
        return bool(self._day_hours(d))

    def _compute_intervals(self, d: date) -> tuple[Interval, ...]:
        # Combine with the zone on the day itself so open hours stay local wall-clock hours across DST.
        def at(t: time, day: date) -> datetime:
            return datetime.combine(day, t, tzinfo=self.timezone).astimezone(UTC)
        return tuple((at(o, d), at(c, d + timedelta(days=1)) if c == time(0) else at(c, d))
                     for o, c in self._day_hours(d))

    def working_intervals(self, d: date) -> list[Interval]:
        """The open intervals of local day ``d``, as UTC-aware datetimes."""
        return list(self._intervals(d))

    def _local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.timezone).date()

    def _days_from(self, d: date):
        """Local days from ``d`` onwards, with their intervals; gives up on a calendar that never opens."""
        closed_run = 0
        while closed_run < MAX_SEARCH_DAYS:
            intervals = self._intervals(d)
            closed_run = 0 if intervals else closed_run + 1
            yield d, intervals
            d += timedelta(days=1)
        raise CalendarError(f"calendar {self.name!r} has no open hours for {MAX_SEARCH_DAYS} days")

    # ---- arithmetic -----------------------------------------------------------

    def add(self, start: datetime, *, minutes: float = 0, working_days: int = 0) -> datetime:
        """Due time: ``working_days`` working days, then ``minutes`` open minutes after ``start``.

        Working days keep the local time of day (Friday 10:00 + 1 -> next working day 10:00).
        A start outside open hours first moves to the next opening; if that is a day's
        first opening (reported at night, on a weekend or holiday), N working days end at
        the close of the N-th working day counting that day (Saturday + 1 -> Monday close).
        """
        start = _utc(start, "start")
        if minutes < 0 or working_days < 0:
            raise ValueError("minutes and working_days must not be negative")
        if working_days:
            start = self._add_working_days(start, working_days)
            if not minutes:
                return start  # may be a close time; adding 0 minutes would move it to the next opening
        if self.always_open:
            return start + timedelta(minutes=minutes)
        return self._add_seconds(start, minutes * 60)

    def after(self, start: datetime, span: Duration) -> datetime:
        """``start`` + a parsed duration: its days as working days, then its minutes of open time."""
        return self.add(start, minutes=span.minutes, working_days=span.days)

    def _add_seconds(self, start: datetime, seconds: float) -> datetime:
        # Ends exactly at a close rather than at the next opening; 0 seconds gives the next opening.
        for _, intervals in self._days_from(self._local_date(start)):
            for opens, closes in intervals:
                if closes <= start:
                    continue
                opens = max(opens, start)
                available = (closes - opens).total_seconds()
                if seconds <= available:
                    return opens + timedelta(seconds=seconds)
                seconds -= available
        raise AssertionError("unreachable")

    def _add_working_days(self, start: datetime, n: int) -> datetime:
        if self.always_open:
            local = start.astimezone(self.timezone)
            return (local.replace(tzinfo=None) + timedelta(days=n)).replace(
                tzinfo=self.timezone).astimezone(UTC)
        begin = self._add_seconds(start, 0)
        day = self._local_date(begin)
        if begin == self._intervals(day)[0][0]:  # whole days: due at the close of the n-th one
            return self._nth_working_day(day, n - 1)[-1][1]
        target_day = self._nth_working_day(day, n)
        local_time = begin.astimezone(self.timezone).time()
        target = datetime.combine(self._local_date(target_day[0][0]), local_time,
                                  tzinfo=self.timezone).astimezone(UTC)
        return _clamp(target, target_day)

    def _nth_working_day(self, day: date, n: int) -> tuple[Interval, ...]:
        """Intervals of the n-th working day after ``day`` (n=0: ``day`` itself, which is open)."""
        for _, intervals in self._days_from(day + timedelta(days=1) if n else day):
            if intervals:
                n -= 1
                if n <= 0:
                    return intervals
        raise AssertionError("unreachable")

    def working_seconds(self, start: datetime, end: datetime) -> float:
        """Open time between two instants, in seconds (0 if ``end`` <= ``start``)."""
        start, end = _utc(start, "start"), _utc(end, "end")
        if end <= start:
            return 0.0
        if self.always_open:
            return (end - start).total_seconds()
        total, last = 0.0, self._local_date(end)
        for d, intervals in self._days_from(self._local_date(start)):
            if d > last:
                break
            for opens, closes in intervals:
                overlap = (min(closes, end) - max(opens, start)).total_seconds()
                total += max(overlap, 0.0)
        return total

    def uncovered_years(self, start: datetime, end: datetime) -> list[int]:
        """Years between the two instants (local, inclusive) whose holidays are unknown."""
        a, b = sorted((self._local_date(_utc(start, "start")), self._local_date(_utc(end, "end"))))
        return [y for y in range(a.year, b.year + 1) if not self.is_covered(y)]


def _utc(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, got {moment!r}")
    return moment.astimezone(UTC)


def _clamp(moment: datetime, intervals: tuple[Interval, ...]) -> datetime:
    """Latest open instant not after ``moment`` that day (or the day's opening if it is earlier)."""
    previous_close = None
    for opens, closes in intervals:
        if moment < opens:
            return previous_close or opens
        if moment <= closes:
            return moment
        previous_close = closes
    return previous_close


# ---- loading ------------------------------------------------------------------------


class _Source:
    """Turns YAML nodes into 'file:line:col' prefixes for error messages."""

    def __init__(self, name: str):
        self.name = name

    def error(self, message: str, node: Any = None, key: Any = None, index: int | None = None, *,
              code: str | None = None, **params) -> CalendarError:
        line_col = None
        try:
            if index is not None:
                line_col = node.lc.item(index)
            elif key is not None:
                line_col = node.lc.key(key)
            elif node is not None:
                line_col = (node.lc.line, node.lc.col)
        except (AttributeError, KeyError, TypeError):
            pass
        where = f"{self.name}:{line_col[0] + 1}:{line_col[1] + 1}" if line_col else self.name
        return CalendarError(f"{where}: {message}", code, params)


def load_calendars(path: str | Path | None = None, text: str | None = None) -> dict[str, BusinessCalendar]:
    """Parse calendars from ``text``, or from ``path`` (the shipped definitions/calendars.yaml by default)."""
    if text is None:
        path = Path(path or DEFAULT_PATH)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise CalendarError(f"{path}: cannot read calendar file: {exc}") from exc
    src = _Source(str(path) if path else "<calendars>")
    try:
        doc = bounded_yaml.read(text)
    except bounded_yaml.LimitExceeded as exc:
        mark = exc.problem_mark
        raise CalendarError(f"{src.name}:{mark.line + 1}:{mark.column + 1}: {exc.problem}") from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{src.name}:{mark.line + 1}:{mark.column + 1}" if mark else src.name
        raise CalendarError(f"{where}: invalid YAML: {exc.problem or exc}") from exc
    except (YAMLError, ValueError) as exc:  # ValueError: e.g. an impossible date like 2027-02-30
        raise CalendarError(f"{src.name}: invalid YAML: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("calendars"), dict):
        raise src.error("expected a top-level 'calendars:' mapping of name -> calendar", doc, code="calendar_top")
    table = doc["calendars"]
    return {str(name): _parse_calendar(src, str(name), spec, table, name) for name, spec in table.items()}


def _parse_calendar(src: _Source, name: str, spec: Any, parent: Any, key: Any) -> BusinessCalendar:
    if not isinstance(spec, dict):
        raise src.error(f"calendar {name!r}: expected a mapping", parent, key, code="calendar_not_mapping", name=str(name))
    for k in spec:
        if k not in SPEC_KEYS:
            raise src.error(f"calendar {name!r}: unknown key {k!r} (allowed: {', '.join(sorted(SPEC_KEYS))})", spec, k,
                            code="calendar_unknown_key", name=str(name), option=str(k), keys=sorted(SPEC_KEYS))
    tz = _parse_timezone(src, name, spec)
    if spec.get("always_open") is True:
        extra = sorted(set(spec) - {"timezone", "always_open"})
        if extra:
            raise src.error(f"calendar {name!r}: always_open calendars take no {extra[0]!r}", spec, extra[0],
                            code="calendar_always_open_takes_no", name=str(name), option=str(extra[0]))
        return BusinessCalendar(name, tz, always_open=True)
    if "always_open" in spec and spec["always_open"] is not False:
        raise src.error(f"calendar {name!r}: always_open must be true or false", spec, "always_open",
                        code="calendar_always_open", name=str(name))
    if "hours" not in spec:
        raise src.error(f"calendar {name!r}: needs 'hours:' (or 'always_open: true')", parent, key,
                        code="calendar_needs_hours", name=str(name))
    hours = _parse_hours(src, name, spec["hours"], spec)
    holidays = spec.get("holidays", "none")
    if holidays not in ("chinese", "none"):
        raise src.error(f"calendar {name!r}: holidays must be 'chinese' or 'none', got {holidays!r}", spec, "holidays",
                        code="calendar_holidays", name=str(name), value=str(holidays))
    from_day = spec.get("workday_hours_from", "mon")
    if from_day not in WEEKDAYS or not hours.get(WEEKDAYS.index(from_day)):
        raise src.error(f"calendar {name!r}: workday_hours_from must be a weekday with hours, got {from_day!r}",
                        spec, "workday_hours_from", code="calendar_workday_hours_from", name=str(name), value=str(from_day))
    extra_holidays = _parse_dates(src, name, spec, "extra_holidays")
    extra_workdays = _parse_dates(src, name, spec, "extra_workdays")
    both = extra_holidays & extra_workdays
    if both:
        raise src.error(f"calendar {name!r}: {min(both)} is in both extra_holidays and extra_workdays",
                        spec, "extra_workdays", code="calendar_holiday_and_workday", name=str(name), date=str(min(both)))
    return BusinessCalendar(name, tz, hours=hours, chinese_holidays=holidays == "chinese",
                            extra_holidays=extra_holidays, extra_workdays=extra_workdays,
                            workday_hours_from=WEEKDAYS.index(from_day),
                            known_years=_parse_years(src, name, spec))


def _parse_timezone(src: _Source, name: str, spec: Any) -> ZoneInfo:
    tz_name = spec.get("timezone")
    if not isinstance(tz_name, str):
        key = "timezone" if "timezone" in spec else None
        raise src.error(f"calendar {name!r}: needs 'timezone:' with an IANA name like Asia/Shanghai", spec, key,
                        code="calendar_needs_timezone", name=str(name))
    try:
        return ZoneInfo(tz_name)
    except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError is a KeyError
        raise src.error(f"calendar {name!r}: unknown timezone {tz_name!r}", spec, "timezone",
                        code="calendar_unknown_timezone", name=str(name), value=str(tz_name)) from None


def _parse_weekdays(src: _Source, name: str, key: Any, hours: Any) -> list[int]:
    """'mon' -> [0]; 'mon-fri' -> [0..4]."""
    parts = str(key).strip().lower().split("-")
    if len(parts) > 2 or any(p not in WEEKDAYS for p in parts):
        raise src.error(f"calendar {name!r}: unknown weekday {key!r} (use mon..sun or a range like mon-fri)",
                        hours, key, code="calendar_unknown_weekday", name=str(name), value=str(key))
    first, last = WEEKDAYS.index(parts[0]), WEEKDAYS.index(parts[-1])
    if last < first:
        raise src.error(f"calendar {name!r}: weekday range {key!r} runs backwards", hours, key,
                        code="calendar_weekdays_backwards", name=str(name), value=str(key))
    return list(range(first, last + 1))


_INTERVAL = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def _parse_hours(src: _Source, name: str, hours: Any, spec: Any) -> dict[int, Hours]:
    if not isinstance(hours, dict):
        raise src.error(f"calendar {name!r}: hours must map weekdays to lists of \"HH:MM-HH:MM\"", spec, "hours",
                        code="calendar_hours_shape", name=str(name))
    result: dict[int, Hours] = {}
    for key, value in hours.items():
        days = _parse_weekdays(src, name, key, hours)
        intervals = _parse_intervals(src, name, key, value, hours)
        for day in days:
            if day in result:
                raise src.error(f"calendar {name!r}: {WEEKDAYS[day]} is given hours twice", hours, key,
                                code="calendar_day_twice", name=str(name), day=WEEKDAYS[day])
            result[day] = intervals
    if not any(result.values()):
        raise src.error(f"calendar {name!r}: hours open on no day", spec, "hours", code="calendar_never_open", name=str(name))
    return result


def _parse_intervals(src: _Source, name: str, key: Any, value: Any, hours: Any) -> Hours:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise src.error(f"calendar {name!r}: hours for {key} must be a list of \"HH:MM-HH:MM\"", hours, key,
                        code="calendar_day_hours_shape", name=str(name), day=str(key))
    intervals = []
    for i, item in enumerate(value):
        where = dict(node=value, index=i) if hasattr(value, "lc") else dict(node=hours, key=key)
        interval = _parse_interval(item)
        if interval is None:
            raise src.error(f"calendar {name!r}: bad opening hours {item!r} for {key} "
                            "(expected \"HH:MM-HH:MM\" with 00:00 <= open < close <= 24:00, "
                            "split overnight shifts at midnight)", **where,
                            code="calendar_bad_hours", name=str(name), value=str(item), day=str(key))
        intervals.append(interval)
    intervals.sort()
    for (_, close), (opens, _) in zip(intervals, intervals[1:]):
        if opens < close or close == time(0):
            raise src.error(f"calendar {name!r}: opening hours for {key} overlap", hours, key,
                            code="calendar_hours_overlap", name=str(name), day=str(key))
    return tuple(intervals)


def _parse_interval(text: Any) -> tuple[time, time] | None:
    """'08:00-17:30' -> (08:00, 17:30); a close of 24:00 is stored as time(0)."""
    m = _INTERVAL.match(text) if isinstance(text, str) else None
    if not m:
        return None
    oh, om, ch, cm = map(int, m.groups())
    if oh > 23 or om > 59 or cm > 59 or ch > 24 or (ch == 24 and cm):
        return None
    opens, closes = time(oh, om), time(ch % 24, cm)
    if closes != time(0) and closes <= opens:
        return None
    return opens, closes


def _parse_dates(src: _Source, name: str, spec: Any, key: str) -> frozenset[date]:
    value = spec.get(key) or []
    if not isinstance(value, list):
        raise src.error(f"calendar {name!r}: {key} must be a list of dates (YYYY-MM-DD)", spec, key,
                        code="calendar_dates_shape", name=str(name), option=str(key))
    dates = set()
    for i, item in enumerate(value):
        try:
            dates.add(item if isinstance(item, date) and not isinstance(item, datetime)
                      else date.fromisoformat(str(item)))
        except ValueError:
            raise src.error(f"calendar {name!r}: {key} entry {item!r} is not a YYYY-MM-DD date",
                            value, index=i, code="calendar_bad_date", name=str(name), option=str(key),
                            value=str(item)) from None
    return frozenset(dates)


def _parse_years(src: _Source, name: str, spec: Any) -> frozenset[int]:
    value = spec.get("known_years") or []
    if not isinstance(value, list) or not all(isinstance(y, int) and not isinstance(y, bool) and 1900 <= y <= 2999
                                              for y in value):
        raise src.error(f"calendar {name!r}: known_years must be a list of years like [2027]", spec, "known_years",
                        code="calendar_known_years", name=str(name))
    return frozenset(value)


def pick(calendars: dict[str, BusinessCalendar], name: str) -> BusinessCalendar:
    """``calendars[name]``, or an UnknownCalendarError naming those defined."""
    try:
        return calendars[name]
    except KeyError:
        raise UnknownCalendarError(f"unknown calendar {name!r} (defined: {', '.join(sorted(calendars))})") from None


# ---- the file on disk -------------------------------------------------------------------
# For checks and tools that run without a database (`houqin definitions validate`). The engine
# never reads the file while it runs: it computes on the published versions (engine/sla/calendar.py).


@lru_cache(maxsize=4)
def default_calendars(path: Path = DEFAULT_PATH) -> dict[str, BusinessCalendar]:
    """The calendars of a file on disk (the shipped one unless named), loaded once."""
    return load_calendars(path)


def get_calendar(name: str) -> BusinessCalendar:
    return pick(default_calendars(), name)
