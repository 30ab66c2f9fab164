"""Editing calendars.yaml never silently moves a running deadline; `houqin sla recompute` does, on the record."""
from pathlib import Path

import pytest

from page_support import Visitor
from sla_support import at, due, sweep, timers_named
from web import worker
from web.cli import main

SHIPPED = (Path(__file__).resolve().parents[1] / "definitions" / "calendars.yaml").read_text(encoding="utf-8")
TUESDAY_OFF = SHIPPED.replace("extra_holidays: []", "extra_holidays: [2026-10-13]")
assert TUESDAY_OFF != SHIPPED


@pytest.fixture
def desk(api, test_clock):
    api.user("nurse", "requester", department="心内科")
    api.user("dispatcher", "dispatcher", department="后勤保障部")
    api.user("boss", "supervisor", department="后勤保障部")
    test_clock.set(at("2026-10-12T17:00:00"))  # Monday, half an hour before closing
    return api


@pytest.fixture
def edited_calendars(tmp_path, monkeypatch):
    """The hospital adds Tuesday 13 October as a holiday to its calendars file."""
    path = tmp_path / "calendars.yaml"
    path.write_text(TUESDAY_OFF, encoding="utf-8")
    monkeypatch.setenv("HOUQIN_CALENDARS", str(path))
    return path


def order(api, number: int) -> dict:
    return api.as_("dispatcher").get(f"/api/v1/workorders/{number}").json()


def test_a_new_holiday_in_calendars_yaml_moves_no_running_deadline_but_applies_to_new_work(desk, edited_calendars,
                                                                                             test_clock):
    running = desk.new_order("nurse", title="水龙头漏水")
    # Monday 17:00-17:30, then Tuesday 08:00 + 90 min.
    assert due(running, "response") == at("2026-10-13T09:30:00")

    worker.Worker(clock=test_clock).tick()  # the worker finds the edited file and publishes it as a new calendars version

    assert due(order(desk, running["id"]), "response") == at("2026-10-13T09:30:00")
    fresh = desk.new_order("nurse", title="走廊灯不亮")
    assert due(fresh, "response") == at("2026-10-14T09:30:00")  # Tuesday is a holiday now


def test_a_running_timer_keeps_its_calendar_version_when_its_priority_changes(desk, edited_calendars):
    running = desk.new_order("nurse", title="水龙头漏水")
    assert main(["calendars", "publish", str(edited_calendars)]) == 0
    changed = desk.as_("dispatcher").patch(f"/api/v1/workorders/{running['id']}",
                                           json={"priority": "low", "expected_version": running["version"]})
    assert changed.status_code == 200, changed.text
    # One working day from Monday 17:00 on the calendars it started on: Tuesday 17:00, holiday or not.
    assert due(order(desk, running["id"]), "response") == at("2026-10-13T17:00:00")


def test_the_sweep_escalates_on_the_deadline_the_timer_started_with(desk, edited_calendars):
    running = desk.new_order("nurse", title="水龙头漏水")
    assert main(["calendars", "publish", str(edited_calendars)]) == 0
    desk.client.put("/api/v1/_test/clock", json={"now": at("2026-10-13T09:30:00").isoformat()})
    assert [(f["number"], f["level"]) for f in sweep(desk, "boss")] == [(running["number"], 0), (running["number"], 1)]


def test_recompute_moves_running_timers_to_the_newest_calendars_and_records_it(desk, edited_calendars, capsys, app):
    running = desk.new_order("nurse", title="水龙头漏水")
    other = desk.new_order("nurse", title="门锁损坏")
    assert main(["calendars", "publish", str(edited_calendars)]) == 0
    assert "calendars version 2" in capsys.readouterr().out

    assert main(["sla", "recompute", "--order", running["number"]]) == 0
    out = capsys.readouterr().out
    assert f"{running['number']} response (cycle 1): calendars v1 -> v2" in out
    assert f"{running['number']} resolution (cycle 1): calendars v1 -> v2" in out
    assert other["number"] not in out and "2 timers moved" in out

    moved = order(desk, running["id"])
    assert due(moved, "response") == at("2026-10-14T09:30:00")
    assert due(order(desk, other["id"]), "response") == at("2026-10-13T09:30:00")  # not asked for: unchanged
    [record] = [h for h in moved["history"] if h["kind"] == "recompute" and h["data"]["timer"] == "response"]
    assert record["data"]["from_version"] == 1 and record["data"]["to_version"] == 2
    assert (record["data"]["old_due_at"], record["data"]["new_due_at"]) == (
        "2026-10-13T01:30:00+00:00", "2026-10-14T01:30:00+00:00")  # Tuesday 09:30 -> Wednesday 09:30 local
    visitor = Visitor(app)
    visitor.sign_in("dispatcher")
    page = visitor.get(f"/orders/{running['id']}")
    assert page.status_code == 200 and "按新日历重算时限" in page.text and "10-13 09:30 → 10-14 09:30" in page.text

    assert main(["sla", "recompute"]) == 0  # the rest, and nothing twice
    out = capsys.readouterr().out
    assert running["number"] not in out and f"{other['number']} response" in out
    assert due(order(desk, other["id"]), "response") == at("2026-10-14T09:30:00")


def test_a_calendars_file_with_a_mistake_is_not_published(desk, edited_calendars, capsys):
    edited_calendars.write_text(TUESDAY_OFF.replace("mon-fri:", "mon-fry:"), encoding="utf-8")
    assert main(["calendars", "publish", str(edited_calendars)]) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"{edited_calendars}:41:7: ") and "unknown weekday 'mon-fry'" in error
    running = desk.new_order("nurse", title="水龙头漏水")
    assert due(running, "response") == at("2026-10-13T09:30:00")  # the version in force is unchanged
    assert timers_named(running, "response")[0]["calendar"] == "workday"


def test_calendars_a_published_process_needs_cannot_be_dropped(desk, edited_calendars, capsys):
    edited_calendars.write_text(SHIPPED.replace("  workday:", "  office:"), encoding="utf-8")
    assert main(["calendars", "publish", str(edited_calendars)]) == 1
    assert "calendar 'workday' is used by a published process but not defined here" in capsys.readouterr().err
