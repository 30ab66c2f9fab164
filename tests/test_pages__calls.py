"""The follow-up call (回访) pages: the desk's queue in its menu, and the call form on the work order's page, never stars."""
import re

import pytest

from page_support import text_of, visitor
from test_calls__api import closed_repair


@pytest.fixture
def people(api, test_clock):
    api.user("nurse", "requester", department="心内科")
    api.user("dispatcher", "dispatcher", department="后勤保障部")
    api.user("tech", "technician", department="后勤保障部")
    api.user("handler", "technician", department="后勤保障部")
    return api


def call_form(html: str) -> str:
    found = re.search(r'<section class="panel call" id="call">.*?</section>', html, re.S)
    return found.group(0) if found else ""


def test_the_desk_finds_the_queue_in_its_menu_and_nobody_else_does(app, people):
    order = closed_repair(people, priority="urgent", title="病房断电")
    desk = visitor(app, "dispatcher")
    assert 'href="/calls"' in desk.get("/dispatch").text
    queue = desk.get("/calls")
    assert queue.status_code == 200
    words = text_of(queue.text)
    assert "回访" in words and order["number"] in words and "病房断电" in words and "必访" in words
    assert f'href="/orders/{order["id"]}#call"' in queue.text
    nurse = visitor(app, "nurse")
    assert 'href="/calls"' not in nurse.get("/submit").text
    assert nurse.get("/calls").status_code == 403


def test_the_call_form_asks_reached_satisfied_and_notes_and_no_stars(app, people):
    order = closed_repair(people, priority="urgent")
    desk = visitor(app, "dispatcher")
    form = call_form(desk.get(f"/orders/{order['id']}").text)
    assert 'name="reached"' in form and 'name="satisfied"' in form and 'name="comment"' in form
    assert "star" not in form and 'name="rating"' not in form
    assert call_form(visitor(app, "nurse").get(f"/orders/{order['id']}").text) == ""  # the requester is not the desk

    done = desk.follow(desk.post(f"/orders/{order['id']}/call", {
        "reached": "yes", "satisfied": "no", "comment": "维修后又跳闸一次", "version": order["version"]}))
    words = text_of(done.text)
    assert "回访已记录。" in words
    assert "回访 维修后又跳闸一次 接通情况: 已接通 · 是否满意: 不满意" in words  # on the timeline
    assert call_form(done.text) == ""  # called once
    assert order["number"] not in text_of(desk.get("/calls").text)


def test_a_call_that_reached_nobody_ignores_a_ticked_answer_and_stays_in_the_queue(app, people):
    order = closed_repair(people, priority="urgent")
    desk = visitor(app, "dispatcher")
    done = desk.follow(desk.post(f"/orders/{order['id']}/call", {"reached": "no", "satisfied": "yes"}))
    assert "已记录未接通，请稍后再拨。" in text_of(done.text)
    assert call_form(done.text) != ""  # it may be tried again
    assert "未接通 1 次" in text_of(desk.get("/calls").text)


def test_a_call_form_sent_without_saying_whether_it_reached_anyone_says_what_to_fix(app, people):
    order = closed_repair(people, priority="urgent")
    desk = visitor(app, "dispatcher")
    done = desk.follow(desk.post(f"/orders/{order['id']}/call", {"comment": "……"}))
    assert "请选择是否接通。" in text_of(done.text)
    assert "接通情况:" not in text_of(done.text)  # nothing on the timeline
    done = desk.follow(desk.post(f"/orders/{order['id']}/call", {"reached": "yes"}))
    assert "已接通：请选择是否满意。" in text_of(done.text)


def test_a_replied_complaint_shows_the_desk_the_call_form_instead_of_stars_and_buttons(app, people):
    order = people.new_order("nurse", "complaint", title="食堂饭菜偏凉", fields={"channel": "hotline"})
    people.fire("dispatcher", order["id"], "accept")
    people.fire("dispatcher", order["id"], "assign", assignee="handler")
    people.fire("handler", order["id"], "start")
    people.fire("handler", order["id"], "reply", fields={"reply": "已加装保温设备"})
    desk = visitor(app, "dispatcher")
    inbox = desk.get("/inbox")
    assert "待您回访" in text_of(inbox.text) and f'href="/orders/{order["id"]}#call"' in inbox.text
    page = desk.get(f"/orders/{order['id']}").text
    assert call_form(page) != ""
    assert 'id="feedback"' not in page and 'name="rating"' not in page
    assert "/events/confirm" not in page and "/events/reopen" not in page
    done = desk.follow(desk.post(f"/orders/{order['id']}/call", {
        "reached": "yes", "satisfied": "yes", "comment": "饭菜已是热的，满意"}))
    words = text_of(done.text)
    assert "已办结" in words and "饭菜已是热的，满意" in words and call_form(done.text) == ""
