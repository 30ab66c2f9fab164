"""A follow-up call (回访) recorded with the call form, in a real browser: the dispatcher opens the queue from the
menu, calls back the requester of an urgent repair, records reached and satisfied with a note, and the work order's
timeline shows the call; the queue is empty after it."""
import pytest

from engine.orders import feedback, workorders
from engine.orders.workorders import EventInput

journeys = pytest.importorskip("test_browser__journeys")
browser, server = journeys.browser, journeys.server  # the fixtures: Chromium, and Houqin on a free port
pytestmark = journeys.pytestmark
expect = journeys.expect


def closed_urgent_repair(session, make_user, now):
    nurse = make_user("nurse", "requester", department="心内科")
    dispatcher = make_user("dispatcher", "dispatcher", department="后勤保障部")
    tech = make_user("tech", "technician", department="后勤保障部")
    order = workorders.create(session, nurse, process="repair", title="ICU 病房断电", priority="urgent",
                              location="住院楼 3F ICU", fields={"category": "building"}, now=now)
    workorders.fire(session, dispatcher, order.id, "assign", EventInput(assignee="tech"), now)
    for event, values in (("accept", {}), ("start", {}), ("resolve", {"labour_minutes": 40})):
        workorders.fire(session, tech, order.id, event, EventInput(fields=values), now)
    feedback.give(session, nurse, order.id, satisfied=True, rating=5, now=now)
    session.commit()
    return order


def test_a_follow_up_call_recorded_with_the_call_form(browser, server, make_user, session, test_clock):
    order = closed_urgent_repair(session, make_user, test_clock.now())
    desk = journeys.Person(browser, server, "dispatcher", journeys.DESKTOP)
    page = desk.sign_in()
    page.click(".menu a[href='/calls']")
    expect(page.locator("h1")).to_contain_text("回访")
    card = page.locator(f"li.card[data-number='{order.number}']")
    expect(card).to_contain_text("ICU 病房断电")
    expect(card).to_contain_text("必访")
    desk.shoot("calls")

    card.locator("a:has-text('去回访')").click()
    form = page.locator("#call")
    expect(form.locator("h2")).to_have_text("电话回访")
    expect(form.locator("input[name=rating]")).to_have_count(0)  # a call asks for no stars
    form.locator("label:has-text('已接通')").click()
    form.locator("label:has-text('满意')").first.click()
    form.locator("textarea[name=comment]").fill("护士长表示来电后 20 分钟恢复供电，满意")
    desk.shoot("order-call")
    form.locator("button:has-text('记录回访')").click()

    expect(page.locator(".flash.ok")).to_have_text("回访已记录。")
    entry = page.locator("#timeline li.kind-call")
    expect(entry).to_contain_text("护士长表示来电后 20 分钟恢复供电，满意")
    expect(entry).to_contain_text("已接通")
    expect(entry).to_contain_text("满意")
    expect(page.locator("#call")).to_have_count(0)  # recorded once
    page.click(".menu a[href='/calls']")
    expect(page.locator(".empty")).to_have_text("目前没有待回访的工单。")
    desk.close()


def test_a_call_that_reached_nobody_hides_the_answer_and_keeps_the_call_waiting(browser, server, make_user, session,
                                                                                 test_clock):
    order = closed_urgent_repair(session, make_user, test_clock.now())
    desk = journeys.Person(browser, server, "dispatcher", journeys.PHONE)
    desk.sign_in()
    page = desk.open(f"/orders/{order.id}#call")
    form = page.locator("#call")
    form.locator("label:has-text('未接通')").click()
    expect(form.locator(".call-answer")).to_be_hidden()  # nobody answered: there is no answer to record
    form.locator("button:has-text('记录回访')").click()
    expect(page.locator(".flash.ok")).to_have_text("已记录未接通，请稍后再拨。")
    expect(page.locator("#call")).to_have_count(1)
    page = desk.open("/calls")
    expect(page.locator(f"li.card[data-number='{order.number}']")).to_contain_text("未接通 1 次")
    desk.close()
