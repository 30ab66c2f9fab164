"""The designer's what-if, in a real browser: shorten the urgent response target of repairs, simulate it on
the last weeks of work, see the on-time rate drop, then publish the draft or discard it."""
import pytest
from sqlmodel import select

from engine.published import definitions
from engine.storage.models import Definition
from simulate_support import drive, people as make_people
from test_browser__journeys import DESKTOP, Person, browser, expect, server  # noqa: F401 (fixtures)

URGENT = ("urgent: {within: 15m, calendar: 24x7}", "urgent: {within: 10m, calendar: 24x7}")


@pytest.fixture
def designer(browser, server, session, make_user, test_clock):  # noqa: F811
    test_clock.set(drive(session, make_people(session, make_user)))
    make_user("designer", "designer", department="信息中心")
    person = Person(browser, server, "designer", DESKTOP)
    page = person.sign_in()
    page.click("a[href='/designer/repair']")
    page.wait_for_load_state("load")
    yield person
    person.close()


def _simulate_shorter_target(designer) -> str:
    page = designer.page
    original = page.locator("#yaml").input_value()
    page.locator("#yaml").fill(original.replace(*URGENT, 1))
    expect(page.locator("#status")).to_have_text("定义有效，可以发布。")
    page.select_option("#simulate-months", "1")
    page.click("#simulate")
    row = page.locator("tr[data-figure='on-time-response']")
    expect(row.locator("td").nth(1)).to_have_class("worse")
    before, after = (float(row.locator("td").nth(i).inner_text().rstrip("%")) for i in (0, 1))
    assert after < before
    expect(row.locator("th")).to_have_text("及时率 · 响应时限")
    expect(page.locator("#simulate-changed")).to_contain_text("结果改变的工单")
    expect(page.locator("ul.changed")).to_contain_text("响应时限：达标 → 超时；新增升级：")
    designer.shoot("designer-simulate")
    return original


def test_the_designer_sees_the_on_time_rate_drop_and_publishes(designer, session):
    _simulate_shorter_target(designer)
    designer.page.click("#publish")
    expect(designer.page.locator(".flash.ok")).to_have_text("已发布 repair 第 2 版。")
    assert "10m" in definitions.latest(session, "repair").yaml_text


def test_the_designer_sees_the_on_time_rate_drop_and_discards_the_draft(designer, session):
    original = _simulate_shorter_target(designer)
    designer.page.click("#discard")
    expect(designer.page.locator("#yaml")).to_have_value(original)
    assert session.exec(select(Definition.version).where(Definition.key == "repair")).all() == [1]
