"""A nurse urges (催办) her open repair from her phone, in a real browser (Debian's Chromium driven by Playwright):
it is recorded and the plumber is told; a second urge within the hour is refused with the time she may urge again.

The test clock starts on Monday 2026-10-12 at 09:00.
"""
import pytest
from sqlmodel import select

from engine.orders import workorders
from engine.people.users import actor_for
from engine.storage.models import User
from test_browser__journeys import CHROMIUM, PHONE, Person, browser, expect, server  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium: apt-get install chromium fonts-noto-cjk")

NAMES = {"nurse": "王护士", "dispatcher": "赵调度", "tech": "刘师傅"}


@pytest.fixture
def assigned_repair(make_user, session, test_clock):
    """The nurse's leaking tap, assigned to the plumber, who has not come yet."""
    make_user("nurse", "requester", department="心内科")
    make_user("dispatcher", "dispatcher", department="后勤保障部")
    make_user("tech", "technician", department="后勤保障部", team="水电班")
    users = {u.username: u for u in session.exec(select(User)).all()}
    for username, name in NAMES.items():
        users[username].display_name = name
    actors = {username: actor_for(session, user) for username, user in users.items()}
    order = workorders.create(session, actors["nurse"], process="repair", title="病房水龙头漏水", location="住院楼5F 512病房",
                              priority="normal", fields={"category": "plumbing"}, now=test_clock.now())
    workorders.fire(session, actors["dispatcher"], order.id, "assign", workorders.EventInput(assignee="tech"),
                    test_clock.now())
    session.commit()
    return order


def test_a_nurse_urges_her_repair_once_an_hour_and_the_plumber_is_told(browser, server, assigned_repair, test_clock):  # noqa: F811
    number = assigned_repair.number
    test_clock.advance(minutes=50)  # 09:50, and nobody has come

    # From her phone, she finds the repair among her department's and opens it.
    nurse = Person(browser, server, "nurse", PHONE)
    nurse.sign_in()
    page = nurse.open("/department")
    page.locator(f"a.card-head:has-text('{number}')").click()
    expect(page.locator("h1")).to_have_text("病房水龙头漏水")
    urge = page.locator("#urge")
    expect(urge.locator("h2")).to_have_text("催办")

    # A second tab of the same page, still offering the form once she has urged from the first.
    second = nurse.context.new_page()
    second.goto(page.url)

    urge.locator("input[name=comment]").fill("病人等着用，请尽快")
    urge.locator("button[data-urge]").click()
    expect(page.locator(".flash.ok")).to_have_text("已催办，处理人和调度员已收到通知。")
    expect(page.locator("#urge")).to_contain_text("已催办 1 次")
    expect(page.locator("#urge")).to_contain_text("10:50 后可再次催办（每小时一次）")
    expect(page.locator("#urge button[data-urge]")).to_have_count(0)  # no form until the hour is over
    entry = page.locator(".timeline li.kind-urge")
    expect(entry).to_contain_text("王护士")
    expect(entry).to_contain_text("病人等着用，请尽快")
    nurse.shoot("order-urged")

    # Within the hour the other tab's urge is refused, saying when she may urge again; nothing more is counted.
    test_clock.advance(minutes=10)  # 10:00
    second.locator("#urge button[data-urge]").click()
    expect(second.locator(".flash.error")).to_contain_text("10:50 后可再次催办")
    expect(second.locator("#urge")).to_contain_text("已催办 1 次")
    nurse.problems = [p for p in nurse.problems if "429" not in p]  # the refusal's own status, not a fault

    # The plumber, on his phone, finds the urge among his notifications, with her note.
    tech = Person(browser, server, "tech", PHONE)
    page = tech.sign_in()
    expect(page.locator(".menu [data-count=unread]")).to_be_visible()
    page.click(".menu a[href='/notifications']")
    note = page.locator(".notifications li[data-kind=urge]")
    expect(note.locator(".badge").first).to_have_text("催办")
    expect(note.locator(".title")).to_contain_text(f"{number}")
    expect(note).to_contain_text("病房水龙头漏水")
    expect(note).to_contain_text("病人等着用，请尽快")
    tech.shoot("notifications-urged")
    note.locator(".title a").click()
    expect(page.locator(".timeline li.kind-urge")).to_contain_text("王护士")

    # An hour after her urge, she may urge again.
    test_clock.advance(minutes=51)  # 10:51
    page = nurse.open(f"/orders/{assigned_repair.id}")
    expect(page.locator("#urge button[data-urge]")).to_be_visible()

    for person in (nurse, tech):
        person.close()
