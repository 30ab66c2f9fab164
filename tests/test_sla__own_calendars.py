"""A hospital's own calendars: a lunch break with a Saturday-morning desk, and a campus abroad on
Berlin time, whose deadlines keep local office hours across the change from summer time."""
from datetime import datetime, timezone

import pytest

from engine.published import definitions
from engine.sla import calendar
from sla_support import at, due, sweep

CALENDARS = """
calendars:
  "24x7": {timezone: Asia/Shanghai, always_open: true}
  workday:
    timezone: Asia/Shanghai
    hours: {mon-fri: ["08:00-17:30"]}
    holidays: chinese
  desk:
    timezone: Asia/Shanghai
    hours:
      mon-fri: ["08:00-12:00", "13:30-17:30"]
      sat: ["08:00-12:00"]
    holidays: chinese
  berlin:
    timezone: Europe/Berlin
    hours: {mon-fri: ["08:00-16:00"]}
"""

PROCESS = """
key: enquiry
title: {zh: 咨询, en: Enquiry}
number_prefix: EQ
states:
  asked:    {label: {zh: 已提问, en: Asked}, initial: true}
  answered: {label: {zh: 已答复, en: Answered}, final: true}
events:
  - {name: answer, from: asked, to: answered, roles: [dispatcher]}
fields:
  site: {type: choice, choices: [main, abroad], required: true}
sla:
  answer:
    start: [asked]
    stop: [answered]
    target_field: site
    targets:
      main:   {within: 2h, calendar: desk}
      abroad: {within: 2h, calendar: berlin}
    escalation:
      - {level: 1, at: due, notify: [role:supervisor]}
"""


@pytest.fixture
def staff(api, session, tmp_path, monkeypatch):
    path = tmp_path / "calendars.yaml"
    path.write_text(CALENDARS, encoding="utf-8")
    monkeypatch.setenv("HOUQIN_CALENDARS", str(path))
    calendar.publish_file(session, now=datetime.now(timezone.utc))  # as `houqin calendars publish` does
    definitions.publish(session, PROCESS, now=datetime.now(timezone.utc))
    session.commit()
    api.user("nurse", "requester", department="心内科")
    api.user("supervisor", "supervisor", department="后勤保障部")
    return api


def enquiry(api, site: str) -> dict:
    return api.new_order("nurse", "enquiry", title="报销流程", fields={"site": site})


def test_the_clock_stops_over_lunch(staff, test_clock):
    test_clock.set(at("2026-10-12T11:30:00"))
    assert due(enquiry(staff, "main"), "answer") == at("2026-10-12T15:00:00")  # 30 min, lunch, then 90 min


def test_the_saturday_desk_counts_and_sunday_does_not(staff, test_clock):
    test_clock.set(at("2026-10-17T11:00:00"))  # Saturday: open until noon
    assert due(enquiry(staff, "main"), "answer") == at("2026-10-19T09:00:00")


def test_a_berlin_deadline_keeps_office_hours_when_summer_time_ends(staff, test_clock):
    # Friday 23 October 2026, 15:00 in Berlin (summer time, UTC+2): one hour left that day.
    # Clocks go back on Sunday 25 October; Monday opens at 08:00 winter time (UTC+1) = 07:00 UTC.
    test_clock.set(datetime(2026, 10, 23, 13, 0, tzinfo=timezone.utc))
    order = enquiry(staff, "abroad")
    assert due(order, "answer") == datetime(2026, 10, 26, 8, 0, tzinfo=timezone.utc)  # 09:00 in Berlin
    test_clock.set(datetime(2026, 10, 26, 7, 59, tzinfo=timezone.utc))
    assert sweep(staff, "supervisor") == []
    test_clock.set(datetime(2026, 10, 26, 8, 0, tzinfo=timezone.utc))
    assert [f["level"] for f in sweep(staff, "supervisor")] == [1]
