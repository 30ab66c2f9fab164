"""The supervisor's at-risk queue in a real browser (Debian's Chromium driven by Playwright): a repair likely to
be answered late shows before its deadline, with its risk and the reason, in the supervisor's language."""
from datetime import timedelta

import pytest

from engine.storage.models import WorkOrder
from risk_support import accepted_after, file_repairs, people
from sla_support import at
from test_browser__journeys import CHROMIUM, DESKTOP, Person, browser, expect, server  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium: apt-get install chromium fonts-noto-cjk")

START = at("2026-03-02T08:00:00")
NOW = START + timedelta(days=3)


def test_the_supervisor_sees_a_repair_at_risk_before_it_breaches(browser, server, make_user, session, test_clock):  # noqa: F811
    who = people(make_user)
    # Of 30 high-priority electrical repairs (answer within 30 minutes), 20 were answered late.
    file_repairs(session, who, start=START, category="electrical", outcomes=accepted_after(*[10] * 10, *[45] * 20))
    file_repairs(session, who, start=START, category="plumbing", outcomes=accepted_after(*[10] * 25))  # all in time
    order_id = file_repairs(session, who, start=NOW - timedelta(minutes=16), outcomes=[None], category="electrical")[0]
    calm_id = file_repairs(session, who, start=NOW - timedelta(minutes=2), outcomes=[None], category="plumbing")[0]
    number, calm = (session.get(WorkOrder, i).number for i in (order_id, calm_id))
    test_clock.set(NOW)  # 16 of its 30 minutes gone: not late yet

    supervisor = Person(browser, server, "supervisor", DESKTOP)
    page = supervisor.sign_in()
    page = supervisor.open("/escalations")
    queue = page.locator("#at-risk")
    expect(queue.locator("h2")).to_have_text("预警：可能超时的工单")
    card = queue.locator(f"li.card[data-number='{number}']")
    expect(card).to_be_visible()
    expect(card.locator(".badge.at-risk")).to_have_text("超时风险 100%")
    expect(card.locator(".risk strong")).to_have_text("同类工单 100% 在剩余时间内未完成")
    expect(card).to_contain_text("时限已用 53%")
    expect(card.locator(".badge.late")).to_have_count(0)
    expect(queue.locator(f"li.card[data-number='{calm}']")).to_have_count(0)
    supervisor.shoot("escalations-at-risk")

    card.locator("a.card-head").click()  # the order itself, still within its time
    expect(page.locator(".badge.late")).to_have_count(0)
    supervisor.close()
