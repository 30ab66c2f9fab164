"""Scan to report on a phone, in a real browser: a device's QR code opens the sign-in page, then the
repair form with the device and its place filled in; the report's page names both, and the device's
health file lists the report."""
from datetime import datetime, timezone

import pytest

from engine.places import locations
from engine.storage.models import Asset

journeys = pytest.importorskip("test_browser__journeys")
browser, server = journeys.browser, journeys.server  # the fixtures: Chromium, and Houqin on a free port
pytestmark = journeys.pytestmark
expect = journeys.expect


def test_a_nurse_scans_the_lift_signs_in_and_reports_it(browser, server, make_user, session):
    make_user("nurse", "requester", department="心内科")
    campus = locations.add(session, code="HQ", name="本部", kind="campus")
    ward = locations.add(session, code="ZY", name="住院楼", kind="building", parent=campus)
    lift = Asset(asset_no="EL-001", name="1号电梯", asset_class="elevator", location_id=ward.id,
                 created_at=datetime(2026, 1, 5, tzinfo=timezone.utc))
    session.add(lift)
    session.commit()

    nurse = journeys.Person(browser, server, "nurse", journeys.PHONE)
    page = nurse.open("/s/a/EL-001")  # what the phone's camera opens
    assert "/login" in page.url
    page.fill("input[name=username]", "nurse")
    page.fill("input[name=password]", journeys.PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator(".scan-device")).to_have_text("EL-001 1号电梯")
    expect(page.locator(".scan-place")).to_have_text("本部 / 住院楼")
    expect(page.locator("select[name='f.category']")).to_have_value("elevator")
    nurse.shoot("scan-report")
    page.fill("input[name=title]", "电梯门关不上")
    page.click("button:has-text('提交')")
    expect(page.locator(".flash.ok")).to_contain_text("已提交")
    facts = page.locator(".facts")
    expect(facts).to_contain_text("EL-001 1号电梯")
    expect(facts).to_contain_text("本部 / 住院楼")
    nurse.shoot("scan-order")
    page.click("a.device-link")  # the device's health file (设备健康档案)
    page.wait_for_url(f"**/assets/{lift.id}")
    expect(page.locator("main")).to_contain_text("电梯门关不上")
    expect(page.locator("main")).to_contain_text("EL-001")
    nurse.shoot("asset-health")
    nurse.close()
