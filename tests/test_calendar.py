"""Business calendars: when does the SLA clock run, and when is a work order due?

Expected times are computed by hand; comments show the arithmetic.
"""

import logging
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest


from engine.sla import calendar as engine_calendar
from workflows.calendars import CalendarError, get_calendar, load_calendars

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")


def sh(*args):
    return datetime(*args, tzinfo=SHANGHAI)


def local(moment):
    return moment.astimezone(SHANGHAI)


@pytest.fixture
def workday():
    return get_calendar("workday")


LUNCH_BREAK_YAML = """\
calendars:
  clinic:
    timezone: Asia/Shanghai
    hours:
      mon-fri: ["08:00-12:00", "13:30-17:30"]
      sat: ["08:00-12:00"]
    holidays: none
    extra_holidays: [2026-03-18]
    extra_workdays: [2026-03-15]
"""


# ---- the shipped `workday` calendar ------------------------------------------------


def test_friday_1700_plus_two_working_hours_is_due_monday_0930(workday):
    # Fri 17:00-17:30 uses 30 min, the weekend is closed, Mon 08:00 + 90 min.
    due = workday.add(sh(2026, 3, 13, 17, 0), minutes=120)
    assert local(due) == sh(2026, 3, 16, 9, 30)


def test_due_times_are_returned_in_utc(workday):
    due = workday.add(sh(2026, 3, 13, 17, 0), minutes=120)
    assert due.tzinfo == timezone.utc
    assert due == datetime(2026, 3, 16, 1, 30, tzinfo=timezone.utc)


def test_start_in_another_timezone_is_understood(workday):
    # 09:00 UTC on Friday is 17:00 in Shanghai.
    due = workday.add(datetime(2026, 3, 13, 9, 0, tzinfo=timezone.utc), minutes=120)
    assert local(due) == sh(2026, 3, 16, 9, 30)


def test_report_on_a_weekend_starts_the_clock_monday_morning(workday):
    due = workday.add(sh(2026, 3, 14, 10, 0), minutes=30)
    assert local(due) == sh(2026, 3, 16, 8, 30)


def test_national_day_is_skipped_and_the_makeup_saturday_counts(workday):
    # Wed 09-30 16:00-17:30 = 1.5 h; Oct 1-7 holiday; Thu 10-08 9.5 h; Fri 10-09 9.5 h
    # -> 20.5 h used, the remaining 2 h run on make-up Saturday 10-10 from 08:00.
    due = workday.add(sh(2026, 9, 30, 16, 0), minutes=22.5 * 60)
    assert local(due) == sh(2026, 10, 10, 10, 0)


def test_three_working_days_over_national_day_end_on_the_makeup_saturday(workday):
    # Working days after Wed 09-30: Thu 10-08, Fri 10-09, Sat 10-10 (make-up day).
    due = workday.add(sh(2026, 9, 30, 16, 0), working_days=3)
    assert local(due) == sh(2026, 10, 10, 16, 0)


def test_makeup_sunday_before_national_day_is_a_working_day(workday):
    assert workday.is_working_day(date(2026, 9, 20))
    assert not workday.is_working_day(date(2026, 9, 19))
    # Fri 09-18 17:00-17:30 = 30 min, then Sunday 09-20 from 08:00.
    due = workday.add(sh(2026, 9, 18, 17, 0), minutes=60)
    assert local(due) == sh(2026, 9, 20, 8, 30)


def test_holiday_days_have_no_open_hours(workday):
    assert not workday.is_working_day(date(2026, 10, 1))
    assert workday.working_intervals(date(2026, 10, 1)) == []
    assert workday.working_intervals(date(2026, 10, 10)) == [(sh(2026, 10, 10, 8, 0), sh(2026, 10, 10, 17, 30))]


def test_one_working_day_after_friday_morning_is_monday_same_time(workday):
    due = workday.add(sh(2026, 3, 13, 10, 0), working_days=1)
    assert local(due) == sh(2026, 3, 16, 10, 0)


def test_one_working_day_after_a_weekend_report_is_monday_close(workday):
    # Reported Saturday: the first working day is Monday, so one working day ends Monday 17:30.
    due = workday.add(sh(2026, 3, 14, 10, 0), working_days=1)
    assert local(due) == sh(2026, 3, 16, 17, 30)


def test_one_working_day_after_a_friday_evening_report_is_monday_close(workday):
    due = workday.add(sh(2026, 3, 13, 19, 0), working_days=1)
    assert local(due) == sh(2026, 3, 16, 17, 30)


def test_working_seconds_across_a_night(workday):
    # Thu 16:00-17:30 = 1.5 h, Fri 08:00-09:00 = 1 h.
    assert workday.working_seconds(sh(2026, 3, 12, 16, 0), sh(2026, 3, 13, 9, 0)) == 2.5 * 3600


def test_working_seconds_across_a_weekend(workday):
    # Fri 17:00-17:30 = 30 min, Mon 08:00-09:00 = 60 min.
    assert workday.working_seconds(sh(2026, 3, 13, 17, 0), sh(2026, 3, 16, 9, 0)) == 90 * 60


def test_working_seconds_is_zero_when_end_is_not_after_start(workday):
    assert workday.working_seconds(sh(2026, 3, 13, 10, 0), sh(2026, 3, 13, 9, 0)) == 0


def test_working_seconds_agrees_with_add(workday):
    start = sh(2026, 9, 29, 11, 17)
    due = workday.add(start, minutes=1000)
    assert workday.working_seconds(start, due) == pytest.approx(1000 * 60)


def test_naive_datetimes_are_rejected(workday):
    with pytest.raises(ValueError, match="timezone-aware"):
        workday.add(datetime(2026, 3, 13, 10, 0), minutes=5)


# ---- 24x7 -----------------------------------------------------------------------------


def test_24x7_adds_plain_wall_clock_minutes():
    always = get_calendar("24x7")
    assert always.add(sh(2026, 10, 1, 23, 50), minutes=15) == sh(2026, 10, 2, 0, 5)
    assert always.working_seconds(sh(2026, 10, 1, 23, 0), sh(2026, 10, 3, 1, 0)) == 26 * 3600
    assert always.is_working_day(date(2026, 10, 1))


def test_unknown_calendar_name_is_a_calendar_error_and_a_key_error():
    with pytest.raises(CalendarError, match="nightshift"):
        get_calendar("nightshift")
    with pytest.raises(KeyError):
        get_calendar("nightshift")


def test_calendar_file_can_be_chosen_with_an_environment_variable(tmp_path, monkeypatch):
    path = tmp_path / "calendars.yaml"
    path.write_text(LUNCH_BREAK_YAML, encoding="utf-8")
    monkeypatch.setenv("HOUQIN_CALENDARS", str(path))
    assert engine_calendar.file_calendars()["clinic"].name == "clinic"


# ---- calendars declared in YAML --------------------------------------------------------


@pytest.fixture
def clinic():
    return load_calendars(text=LUNCH_BREAK_YAML)["clinic"]


def test_clock_stops_over_the_lunch_break(clinic):
    # Tue 11:30-12:00 = 30 min, lunch 12:00-13:30, then 13:30 + 30 min.
    assert local(clinic.add(sh(2026, 3, 17, 11, 30), minutes=60)) == sh(2026, 3, 17, 14, 0)
    assert clinic.working_seconds(sh(2026, 3, 17, 11, 0), sh(2026, 3, 17, 14, 0)) == 90 * 60


def test_saturday_morning_hours_count(clinic):
    # Sat 11:00-12:00 = 1 h; Sunday 03-15 is an extra workday with Monday hours (08:00-12:00 ...).
    assert local(clinic.add(sh(2026, 3, 14, 11, 0), minutes=120)) == sh(2026, 3, 15, 9, 0)


def test_extra_holiday_is_closed(clinic):
    # Wed 03-18 is declared closed: Tue 17:00-17:30, then Thu from 08:00.
    assert clinic.working_intervals(date(2026, 3, 18)) == []
    assert local(clinic.add(sh(2026, 3, 17, 17, 0), minutes=60)) == sh(2026, 3, 19, 8, 30)


def test_working_day_after_a_lunch_break_report_keeps_the_afternoon_time(clinic):
    # Reported 12:30 Monday: the clock starts 13:30, one working day later is Tue 13:30.
    assert local(clinic.add(sh(2026, 3, 16, 12, 30), working_days=1)) == sh(2026, 3, 17, 13, 30)


def test_working_day_landing_after_a_short_saturday_is_due_at_its_close(clinic):
    # Fri 15:00 + 1 working day -> Saturday, which closes at 12:00.
    assert local(clinic.add(sh(2026, 3, 13, 15, 0), working_days=1)) == sh(2026, 3, 14, 12, 0)


def test_due_time_across_daylight_saving_change_uses_local_hours():
    calendars = load_calendars(text="""\
calendars:
  berlin:
    timezone: Europe/Berlin
    hours:
      mon-fri: ["08:00-17:30"]
""")
    # Fri 03-27 16:00-17:30 = 1.5 h (CET); clocks go forward Sun 03-29; Mon 08:00 CEST + 2.5 h.
    due = calendars["berlin"].add(datetime(2026, 3, 27, 16, 0, tzinfo=BERLIN), minutes=4 * 60)
    assert due.astimezone(BERLIN) == datetime(2026, 3, 30, 10, 30, tzinfo=BERLIN)
    assert due == datetime(2026, 3, 30, 8, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize("bad_line, message", [
    ('      mon-fry: ["08:00-17:30"]', "unknown weekday 'mon-fry'"),
    ('      mon-fri: ["08:00-25:00"]', "bad opening hours '08:00-25:00'"),
    ('      mon-fri: ["17:30-08:00"]', "bad opening hours '17:30-08:00'"),
])
def test_bad_opening_hours_are_reported_with_their_line(bad_line, message):
    text = f"calendars:\n  broken:\n    timezone: Asia/Shanghai\n    hours:\n{bad_line}\n"
    with pytest.raises(CalendarError, match=message) as error:
        load_calendars(text=text)
    assert ":5:" in str(error.value)


def test_unknown_timezone_is_reported_with_its_line():
    text = "calendars:\n  broken:\n    hours:\n      mon: [\"08:00-17:30\"]\n    timezone: Asia/Shanghia\n"
    with pytest.raises(CalendarError, match="unknown timezone 'Asia/Shanghia'") as error:
        load_calendars(text=text)
    assert ":5:" in str(error.value)


def test_error_names_the_calendar_file(tmp_path):
    path = tmp_path / "calendars.yaml"
    path.write_text("calendars:\n  broken:\n    timezone: Asia/Shanghai\n    hours: {mon: []}\n",
                    encoding="utf-8")
    with pytest.raises(CalendarError, match=f"{path}:4:.*open on no day"):
        load_calendars(path)


def test_unknown_spec_key_is_rejected():
    with pytest.raises(CalendarError, match=r":4:.*unknown key 'holiday'"):
        load_calendars(text="calendars:\n  x:\n    timezone: UTC\n    holiday: chinese\n    hours: {mon: []}\n")


# ---- years the holiday package does not know ----------------------------------------------


def test_year_without_holiday_data_counts_weekdays_and_is_reported(workday, caplog):
    start = sh(2026, 12, 31, 17, 0)
    with caplog.at_level(logging.WARNING, logger="workflows.calendars"):
        # Thu 12-31 17:00-17:30, then Fri 2027-01-01 counted as a plain weekday.
        due = workday.add(start, minutes=120)
        workday.add(start, minutes=120)
    assert local(due) == sh(2027, 1, 1, 9, 30)
    assert workday.uncovered_years(start, due) == [2027]
    assert workday.uncovered_years(sh(2026, 1, 1), sh(2026, 12, 31)) == []
    assert len([r for r in caplog.records if "2027" in r.getMessage()]) <= 1


def test_missing_year_is_warned_about_once(caplog):
    calendar = load_calendars(text="""\
calendars:
  warn-once:
    timezone: Asia/Shanghai
    hours: {mon-fri: ["08:00-17:30"]}
    holidays: chinese
""")["warn-once"]
    with caplog.at_level(logging.WARNING, logger="workflows.calendars"):
        calendar.add(sh(2027, 3, 1, 9, 0), working_days=10)
    warnings = [r for r in caplog.records if "2027" in r.getMessage()]
    assert len(warnings) == 1
    assert "extra_holidays" in warnings[0].getMessage()


def test_hospital_declared_holidays_cover_a_new_year():
    calendar = load_calendars(text="""\
calendars:
  workday:
    timezone: Asia/Shanghai
    hours: {mon-fri: ["08:00-17:30"]}
    holidays: chinese
    extra_holidays: [2027-01-01]
    known_years: [2027]
""")["workday"]
    start = sh(2026, 12, 31, 17, 0)
    due = calendar.add(start, minutes=120)
    # The declared holiday Fri 2027-01-01 is skipped: Mon 01-04 08:00 + 90 min.
    assert local(due) == sh(2027, 1, 4, 9, 30)
    assert calendar.uncovered_years(start, due) == []
