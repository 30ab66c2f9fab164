"""Time left and time late, as the pages say them: in working time, and saying so, when the timer's calendar keeps
working hours (an ordinary repair, 08:00–17:30 on workdays); in plain time on a round-the-clock calendar.

The test clock starts on Monday 2026-10-12 at 09:00.
"""
import re

import pytest

from page_support import text_of, visitor


@pytest.fixture
def people(api):
    api.user("nurse", "requester", department="心内科")
    api.user("dispatcher", "dispatcher", department="后勤保障部")
    api.user("tech", "technician", department="后勤保障部", team="水电班")
    return api


def _countdowns(html: str) -> list[str]:
    return [text_of(span).strip() for span in re.findall(r'<span class="countdown[^"]*"[^>]*>(.*?)</span>', html, re.S)]


def test_an_ordinary_repair_counts_down_in_working_hours_and_says_so(app, people, test_clock):
    order = people.new_order("nurse", priority="normal")
    test_clock.advance(minutes=40)
    nurse = visitor(app, "nurse")
    # response: 2 working hours; resolution: 3 working days of 9.5 hours
    assert _countdowns(nurse.get(f"/orders/{order['id']}").text) == ["剩余 1小时 20分（工作时间）",
                                                                      "剩余 27小时 50分（工作时间）"]
    assert "响应时限 剩余 1小时 20分（工作时间）" in _countdowns(nurse.get("/department").text)
    nurse.post("/language", {"language": "en"})
    assert _countdowns(nurse.get(f"/orders/{order['id']}").text)[0] == "left: 1h 20min (working time)"


def test_overnight_lateness_counts_only_the_working_hours_missed(app, people, test_clock):
    order = people.new_order("nurse", priority="normal")
    test_clock.advance(hours=24)  # Tuesday 09:00: due Monday 11:00, so 6.5 working hours on Monday and 1 today
    page = visitor(app, "dispatcher").get(f"/orders/{order['id']}").text
    assert _countdowns(page)[0] == "已超时 7小时 30分（工作时间）"  # not the 22 hours of the clock on the wall


def test_an_urgent_repair_on_the_round_the_clock_calendar_says_plain_time(app, people, test_clock):
    order = people.new_order("nurse", priority="urgent")
    test_clock.advance(minutes=5)
    shown = _countdowns(visitor(app, "nurse").get(f"/orders/{order['id']}").text)
    assert shown == ["剩余 10分", "剩余 3小时 55分"] and not any("工作时间" in text for text in shown)


def test_a_met_timer_says_how_long_it_took_in_working_time(app, people, test_clock):
    order = people.new_order("nurse", priority="normal")
    people.fire("dispatcher", order["id"], "assign", assignee="tech")
    test_clock.advance(minutes=45)
    people.fire("tech", order["id"], "accept")
    words = text_of(visitor(app, "nurse").get(f"/orders/{order['id']}").text)
    assert "响应时限 按时完成 截止 2026-10-12 11:00 · 用时 45分（工作时间）" in words
