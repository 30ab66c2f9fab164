"""Phone intake in a real browser: the dispatcher records a call from someone of a clinical department who has
no account; once the work is done, the department confirms it from its inbox (待您验收)."""
import pytest
from sqlmodel import select

from engine.orders import workorders
from engine.people.users import actor_for
from engine.storage.models import User

journeys = pytest.importorskip("test_browser__journeys")
browser, server = journeys.browser, journeys.server  # the fixtures: Chromium, and Houqin on a free port
pytestmark = journeys.pytestmark
expect = journeys.expect


def test_the_desk_records_a_call_and_the_callers_department_confirms_it(browser, server, make_user, session, test_clock):
    make_user("head", "dept_head", department="心内科")
    make_user("dispatcher", "dispatcher", department="后勤保障部")
    make_user("tech", "technician", department="后勤保障部", team="空调班")

    # The dispatcher takes the call on a phone and writes down who called.
    dispatcher = journeys.Person(browser, server, "dispatcher", journeys.PHONE)
    dispatcher.sign_in()
    page = dispatcher.open("/submit/repair")
    caller = page.locator("fieldset#caller")
    expect(caller.locator("legend")).to_have_text("来电人")
    caller.locator("input[name=caller_name]").fill("王阿姨")
    caller.locator("input[name=caller_phone]").fill("138 0013 8000")
    caller.locator("select[name=caller_department]").select_option("心内科")
    page.fill("input[name=title]", "病房空调不制冷")
    page.fill("input[name=location]", "住院楼6F 603病房")
    page.select_option("select[name='f.category']", label="空调暖通")
    dispatcher.shoot("phone-intake")
    page.click("button:has-text('提交')")
    expect(page.locator(".flash.ok")).to_contain_text("已提交")
    facts = page.locator(".facts")
    expect(facts.locator("dd.caller")).to_have_text("王阿姨 · 138 0013 8000")
    expect(facts).to_contain_text("首接负责人")
    expect(page.locator(".timeline")).to_contain_text("电话报修")
    dispatcher.shoot("phone-intake-order")
    order_url = page.url

    # The work is done (through the engine: the technician's pages have journeys of their own).
    users = {u.username: actor_for(session, u) for u in session.exec(select(User)).all()}
    order = workorders.get(session, users["dispatcher"], int(order_url.rsplit("/", 1)[1]))
    workorders.fire(session, users["dispatcher"], order.id, "assign", workorders.EventInput(assignee="tech"),
                    test_clock.now())
    for event, values in (("accept", {}), ("start", {}), ("resolve", {"labour_minutes": 40})):
        workorders.fire(session, users["tech"], order.id, event, workorders.EventInput(fields=values), test_clock.now())
    session.commit()

    # The head of the caller's department finds it waiting for the department's confirmation, and confirms.
    head = journeys.Person(browser, server, "head", journeys.PHONE)
    page = head.sign_in()
    group = page.locator(".inbox-panel .inbox-group[data-waiting=confirm]")
    expect(group.locator("h3")).to_contain_text("待您验收")
    expect(group).to_contain_text(order.number)
    group.locator("a").first.click()
    expect(page.locator("#feedback h2")).to_have_text("验收评价")
    page.click("label[for=star5]")
    page.fill("#feedback textarea[name=comment]", "已回访王阿姨，空调正常")
    head.shoot("phone-intake-confirm")
    page.click("button:has-text('满意，确认验收')")
    expect(page.locator(".flash.ok")).to_have_text("感谢您的评价。")
    expect(page.locator(".order-head .badge.state")).to_have_text("已办结")
    expect(page.locator(".timeline")).to_contain_text("★★★★★")

    for person in (dispatcher, head):
        person.close()
