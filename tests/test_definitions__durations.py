"""One way to write a span of time, in definitions, schedules and calendars alike."""
from datetime import timedelta

import pytest

from workflows.durations import Duration, parse_span
from workflows.schedules import span


@pytest.mark.parametrize("text, minutes, days", [
    ("15m", 15, 0), ("15 min", 15, 0), ("2h", 120, 0), ("1.5h", 90, 0), ("2 hours", 120, 0),
    ("3d", 0, 3), ("3 working days", 0, 3), ("3wd", 0, 3), (45, 45, 0),
])
def test_a_duration_is_an_amount_and_a_unit(text, minutes, days):
    assert Duration.parse(text) == Duration(minutes=minutes, days=days)


def test_a_week_is_a_wall_clock_span_only():
    assert span("1w") == parse_span("1w") == timedelta(days=7)
    assert span("1d") == timedelta(days=1) and span("90m") == timedelta(minutes=90)
    with pytest.raises(ValueError, match="'1w' is not a duration"):
        Duration.parse("1w")  # seven working days is not what anybody means by a week


@pytest.mark.parametrize("text, message", [
    ("soon", "'soon' is not a duration: write e.g. '15m', '2h', '3d'"),
    ("1.5d", "days must be a whole number"),
])
def test_a_mistake_says_how_to_write_it(text, message):
    with pytest.raises(ValueError, match=message):
        Duration.parse(text)
    with pytest.raises(ValueError, match="is not a span of time: write e.g. '30m', '8h', '1d' or '1w'"):
        span("soon")
