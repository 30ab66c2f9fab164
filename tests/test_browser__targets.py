"""The cockpit's targets on the demo hospital, in a real browser (Debian's Chromium driven by Playwright): the
supervisor sees each target of definitions/targets.yaml met or missed, by how much, against the baseline months,
and month by month; then the month's appraisal and its spreadsheet."""
import pytest

from engine.clock import Clock
from foresight_support import NOW, demo_history  # noqa: F401 (fixture)
from test_browser__journeys import CHROMIUM, DESKTOP, Person, browser, expect, serving  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium: apt-get install chromium fonts-noto-cjk")
DEMO_PASSWORD = "houqin-demo"


@pytest.fixture
def demo_server(demo_history, tmp_path):  # noqa: F811
    """Houqin on a copy of the demo hospital, its clock at the demo's now."""
    from engine.settings import Settings
    from web.app import create_app

    demo = demo_history.copy(tmp_path)
    yield from serving(create_app(Settings(database_url=demo.url, test_clock=True), Clock(NOW)))


def test_the_supervisor_sees_targets_met_and_missed_on_the_demo_hospital(browser, demo_server):  # noqa: F811
    supervisor = Person(browser, demo_server, "supervisor", DESKTOP, password=DEMO_PASSWORD)
    supervisor.sign_in()
    page = supervisor.open("/cockpit?months=3")
    goals = page.locator("#goals")
    expect(goals.locator("h2")).to_have_text("目标达成")
    expect(goals.locator("thead th")).to_contain_text(["目标", "目标值", "本期", "达成", "基线", "较基线",
                                                       "2026-09", "2026-10", "2026-11"])
    satisfaction = goals.locator("tbody tr", has_text="满意度")
    expect(satisfaction.locator(".badge.ok")).to_have_text("达标")
    expect(satisfaction).to_contain_text("≥ 95.0%")
    closed_out = goals.locator("tbody tr", has_text="隐患整改销号率")
    expect(closed_out.locator(".badge.late")).to_have_text("未达标")
    expect(closed_out).to_contain_text("差 ")
    faster = goals.locator("tbody tr", has_text="平均响应时间较基线缩短30%")
    expect(faster).to_contain_text("≤ 50.4 分钟")  # 30% under the baseline months' 72 minutes
    expect(faster.locator("td.is-missed")).to_have_count(3)  # missed in each of the three months
    supervisor.shoot("cockpit-targets")

    page.click("nav >> text=绩效考核")
    expect(page.locator("h1")).to_have_text("绩效考核")
    expect(page.locator("input[name=month]")).to_have_value("2026-11")
    assert page.locator("#people tbody tr").count() > 10
    with page.expect_download() as download:
        page.click("a[data-export=xlsx]")
    assert download.value.suggested_filename == "绩效考核-2026-11.xlsx"
    supervisor.shoot("appraisal")
    supervisor.close()
