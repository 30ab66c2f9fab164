"""Due times a requester sees on a repair, computed on the working-day calendar by hand.

The `workday` calendar is open 08:00-17:30 Monday to Friday (Asia/Shanghai), closed on
Chinese public holidays, open on their make-up days. Autumn 2026 by the State Council's
schedule: National Day holiday Thu 1 - Wed 7 October; Saturday 10 October is a make-up
working day; Sunday 11 October is off.
"""
import pytest

from sla_support import at, due, timers_named


@pytest.fixture
def staff(api):
    api.user("nurse", "requester", department="心内科")
    api.user("dispatcher", "dispatcher", department="后勤保障部")
    return api


def test_a_normal_repair_reported_on_friday_at_five_is_due_monday_at_half_past_nine(staff, test_clock):
    test_clock.set(at("2026-10-16T17:00:00"))  # an ordinary Friday: 30 minutes left today
    order = staff.new_order("nurse", priority="normal")
    assert due(order, "response") == at("2026-10-19T09:30:00")  # + 1.5 h from Monday 08:00


def test_a_repair_reported_on_the_eve_of_national_day_skips_the_holiday(staff, test_clock):
    test_clock.set(at("2026-09-30T17:00:00"))  # Wednesday; 1-7 October are off
    order = staff.new_order("nurse", priority="normal")
    assert due(order, "response") == at("2026-10-08T09:30:00")
    # Three working days from Wednesday 17:00: Thursday 8th, Friday 9th, and the make-up Saturday 10th.
    assert due(order, "resolution") == at("2026-10-10T17:00:00")


def test_the_make_up_saturday_after_the_holiday_counts_as_a_working_day(staff, test_clock):
    test_clock.set(at("2026-10-09T17:00:00"))  # Friday before the make-up Saturday
    order = staff.new_order("nurse", priority="normal")
    assert due(order, "response") == at("2026-10-10T09:30:00")


def test_an_urgent_repair_runs_around_the_clock(staff, test_clock):
    test_clock.set(at("2026-10-01T23:50:00"))  # National Day, near midnight
    order = staff.new_order("nurse", priority="urgent")
    assert due(order, "response") == at("2026-10-02T00:05:00")
    assert due(order, "resolution") == at("2026-10-02T03:50:00")


def test_a_repair_reported_at_night_counts_from_the_next_opening(staff, test_clock):
    test_clock.set(at("2026-10-12T22:00:00"))  # Monday night
    order = staff.new_order("nurse", priority="normal")
    assert due(order, "response") == at("2026-10-13T10:00:00")
    [timer] = timers_named(order, "response")
    assert timer["state"] == "running" and timer["cycle"] == 1
    assert timer["remaining_seconds"] == 2 * 3600  # the night does not count
