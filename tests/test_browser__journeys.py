"""Each kind of user's main journey, in a real browser (Debian's Chromium driven by Playwright).

The server runs in a thread of this process on a free loopback port, against the
test's own database; a test that asks for the test clock gives it to the server, so moving it
moves the server's time too.
Every page visited is photographed at phone (375 px) and desktop (1280 px) width
into test-artifacts/screenshots/.
"""
import re
import socket
import threading
from pathlib import Path

import pytest
from sqlmodel import select

from engine.dispatch import rotas
from engine.orders import workorders
from engine.people.users import actor_for
from engine.sla import escalation
from engine.storage.models import User, WorkOrder

playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extras)")

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "screenshots"
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}
PASSWORD = "correct-horse-battery"
expect = playwright_api.expect

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium: apt-get install chromium fonts-noto-cjk")


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def server(db_url, monkeypatch, tmp_path, request):
    """Houqin on 127.0.0.1:<free port>; the socket is bound before the thread starts, so no waiting."""
    monkeypatch.setenv("HOUQIN_ATTACHMENTS_DIR", str(tmp_path / "files"))
    from conftest import clock_for
    from engine.settings import Settings
    from web.app import create_app

    yield from serving(create_app(Settings(database_url=db_url, test_clock=True), clock_for(request)))


def serving(app):
    """Serve `app` on a free loopback port while the caller's fixture lasts; yields its base URL."""
    import uvicorn

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=30)
    listener.close()


class Person:
    """One user in their own browser context (own cookies), on a phone or a desktop."""

    def __init__(self, browser, base: str, username: str, viewport: dict, password: str = PASSWORD):
        self.context = browser.new_context(viewport=viewport, locale="zh-CN", is_mobile=viewport is PHONE,
                                           has_touch=viewport is PHONE)
        self.page = self.context.new_page()
        self.base, self.username, self.viewport, self.password = base, username, viewport, password
        self.problems: list[str] = []
        self.page.on("console", lambda m: self.problems.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.problems.append(str(e)))

    def open(self, path: str):
        self.page.goto(self.base + path)
        return self.page

    def sign_in(self):
        page = self.open("/login")
        page.fill("input[name=username]", self.username)
        page.fill("input[name=password]", self.password)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        assert "/login" not in page.url, page.url
        return page

    def shoot(self, name: str):
        """The page as it is now, at phone and desktop width; diagrams drawn first."""
        page = self.page
        page.wait_for_function("() => [...document.querySelectorAll('pre.mermaid')].every(e => e.dataset.processed)")
        SHOTS.mkdir(parents=True, exist_ok=True)
        for viewport in (PHONE, DESKTOP):
            page.set_viewport_size(viewport)
            page.screenshot(path=str(SHOTS / f"{name}-{viewport['width']}.png"), full_page=True)
        page.set_viewport_size(self.viewport)

    def flash(self) -> str:
        return self.page.locator(".flash").first.inner_text()

    def close(self):
        assert self.problems == [], f"{self.username}'s browser reported: {self.problems}"
        self.context.close()


def _people(make_user):
    make_user("nurse", "requester", department="心内科")
    make_user("dispatcher", "dispatcher", department="后勤保障部")
    make_user("tech", "technician", department="后勤保障部", team="水电班")
    make_user("tech2", "technician", department="后勤保障部", team="空调班")
    make_user("supervisor", "supervisor", department="后勤保障部")
    make_user("designer", "designer", department="信息中心")
    make_user("admin", "admin")


def _order(session, number: str) -> WorkOrder:
    session.expire_all()
    return session.exec(select(WorkOrder).where(WorkOrder.number == number)).one()


def test_a_leaking_tap_from_the_nurses_phone_to_five_stars(browser, server, make_user, session, test_clock):
    _people(make_user)

    # The nurse, on her phone, reports the leak in Chinese.
    nurse = Person(browser, server, "nurse", PHONE)
    page = nurse.sign_in()
    assert page.url.endswith("/submit")
    expect(page.locator("h1")).to_have_text("报修/申请")
    nurse.shoot("submit")
    page.click("a.tile[href='/submit/repair']")
    page.fill("input[name=title]", "病房水龙头漏水")
    page.fill("input[name=location]", "住院楼5F 512病房")
    page.select_option("select[name='f.category']", label="给排水")
    page.fill("textarea[name=description]", "洗手池水龙头一直滴水")
    nurse.shoot("submit-repair")
    page.click("button:has-text('提交')")
    expect(page.locator(".flash.ok")).to_have_text("已提交，工单号 RP-2026-000001。")
    expect(page.locator(".order-head .badge.state")).to_have_text("已报修")
    expect(page.locator(".countdown").first).to_have_attribute("data-remaining", "7200")  # 2 working hours
    expect(page.locator(".countdown").first).to_contain_text(re.compile(r"剩余 (2小时 0分|1小时 59分)"))
    order_url = page.url
    nurse.shoot("order-reported")

    # The dispatcher assigns it from the board to the plumber, whose load is shown.
    dispatcher = Person(browser, server, "dispatcher", DESKTOP)
    page = dispatcher.sign_in()
    assert page.url.endswith("/dispatch")
    card = page.locator("li.card[data-number='RP-2026-000001']")
    expect(card.locator("select[name=assignee] option[value=tech]")).to_contain_text("在办 0 件")
    dispatcher.shoot("dispatch")
    card.locator("select[name=assignee]").select_option("tech")
    card.locator("button[data-event=assign]").click()
    expect(page.locator(".flash.ok")).to_contain_text("已完成“派单”")
    expect(page.locator(".lane").nth(1).locator("li.card[data-number='RP-2026-000001']")).to_be_visible()
    order = _order(session, "RP-2026-000001")
    assert (order.state, order.first_contact_id is not None) == ("assigned", True)

    # The plumber accepts, starts and resolves it with his labour minutes, on his phone.
    tech = Person(browser, server, "tech", PHONE)
    page = tech.sign_in()
    assert page.url.endswith("/work")
    page.click("li.card[data-number='RP-2026-000001'] button[data-event=accept]")
    expect(page.locator(".flash.ok")).to_contain_text("接单")
    page.click("li.card[data-number='RP-2026-000001'] button[data-event=start]")
    card = page.locator("li.card[data-number='RP-2026-000001']")
    card.locator("summary[data-event=resolve]").click()
    card.locator("input[name='f.labour_minutes']").fill("45")
    card.locator("textarea[name='f.parts']").fill("阀芯\n生料带")
    card.locator("textarea[name=comment]").last.fill("更换阀芯")
    tech.shoot("work")
    card.locator("details[open] button.primary").click()
    expect(page.locator(".flash.ok")).to_contain_text("完工")
    order = _order(session, "RP-2026-000001")
    assert order.state == "resolved" and order.fields["labour_minutes"] == 45 and order.fields["parts"] == ["阀芯", "生料带"]

    # The nurse confirms with five stars.
    page = nurse.open(order_url.removeprefix(server))
    expect(page.locator("#feedback h2")).to_have_text("验收评价")
    page.click("label[for=star5]")
    page.fill("#feedback textarea[name=comment]", "修得很快，谢谢")
    nurse.shoot("order-feedback")
    page.click("button:has-text('满意，确认验收')")
    expect(page.locator(".flash.ok")).to_have_text("感谢您的评价。")
    expect(page.locator(".order-head .badge.state")).to_have_text("已办结")
    expect(page.locator(".timeline")).to_contain_text("★★★★★")
    expect(page.locator(".timeline")).to_contain_text("工时（分钟）: 45")
    nurse.shoot("order-closed")
    page = nurse.open("/department")
    nurse.shoot("department")

    for person in (nurse, dispatcher, tech):
        person.close()


def test_a_supervisor_reassigns_an_overdue_repair(browser, server, make_user, session, test_clock):
    _people(make_user)
    users = {u.username: actor_for(session, u) for u in session.exec(select(User)).all()}
    order = workorders.create(session, users["nurse"], process="repair", title="电梯异响", location="住院楼2号电梯",
                              priority="normal", fields={"category": "elevator"}, now=test_clock.now())
    workorders.fire(session, users["dispatcher"], order.id, "assign", workorders.EventInput(assignee="tech"),
                    test_clock.now())
    session.commit()
    # Tuesday 11:00: 11.5 working hours later, the 2-hour response limit is long gone and the
    # sweeper has climbed the ladder (level 2 raised it to high and told the supervisor).
    test_clock.advance(hours=26)
    escalation.sweep(session, test_clock.now())

    supervisor = Person(browser, server, "supervisor", DESKTOP)
    page = supervisor.sign_in()
    assert page.url.endswith("/escalations")
    card = page.locator(f"li.card[data-number='{order.number}']")
    expect(card).to_have_class(re.compile(r"\bis-late\b"))
    expect(card.locator(".badge.late")).to_have_text("超时")
    expect(card.locator(".countdown.late").first).to_contain_text("已超时")
    expect(card.locator(".badge.escalated")).to_have_text("3 级")
    expect(card.locator(".told")).to_contain_text("响应时限 2 级 · 2026-10-13 11:00")
    expect(card.locator(".told")).to_contain_text("已通知: supervisor")
    supervisor.shoot("escalations")
    card.locator("select[name=assignee]").select_option("tech2")
    card.locator("button[data-event=reassign]").click()
    expect(page.locator(".flash.ok")).to_contain_text("已完成“改派”")
    assert _order(session, order.number).assignee_id == users["tech2"].id

    page.locator(f"li.card[data-number='{order.number}'] button:has-text('提为特急')").click()
    expect(page.locator(".flash.ok")).to_have_text("优先级已修改。")
    assert _order(session, order.number).priority == "urgent"

    supervisor.open("/cockpit")
    expect(supervisor.page.locator(".figure").first).to_contain_text("工单总数")
    supervisor.shoot("cockpit")
    supervisor.open(f"/orders/{order.id}")
    supervisor.shoot("order-escalated")
    supervisor.close()


def test_a_designer_breaks_a_definition_sees_the_line_fixes_it_and_publishes(browser, server, make_user, session):
    _people(make_user)
    designer = Person(browser, server, "designer", DESKTOP)
    page = designer.sign_in()
    assert page.url.endswith("/designer")
    designer.shoot("designer")
    page.click("a[href='/designer/repair']")
    page.wait_for_load_state("load")  # the editor's script is in place
    editor = page.locator("#yaml")
    original = editor.input_value()
    line = original.splitlines().index("    to: accepted") + 1

    editor.fill(original.replace("    to: accepted", "    to: acepted", 1))
    problem = page.locator(f"#problems li[data-line='{line}']")
    expect(problem).to_contain_text(f"第 {line} 行第 9 列")
    expect(problem).to_contain_text("未知状态 acepted")  # in the designer's language
    expect(page.locator("#status")).to_have_class(re.compile(r"\bbad\b"))
    problem.locator("a").click()  # takes the designer to the line
    expect(page.locator(f"#gutter b.bad:text-is('{line}')")).to_be_visible()
    assert page.evaluate("() => document.getElementById('yaml').value.slice(0, document.getElementById('yaml').selectionStart)"
                         ).count("\n") == line - 1
    designer.shoot("designer-error")

    fixed = original.replace("label: {zh: 派单, en: Assign}", "label: {zh: 分派, en: Dispatch}")
    editor.fill(fixed)
    expect(page.locator("#status")).to_have_text("定义有效，可以发布。")
    expect(page.locator("#problems li")).to_have_count(0)
    expect(page.locator("#preview svg")).to_contain_text("分派")
    page.click("#publish")
    expect(page.locator(".flash.ok")).to_have_text("已发布 repair 第 2 版。")
    expect(page.locator(".versions a[aria-current]")).to_have_text("v2")
    designer.shoot("designer-published")
    page.click(".versions a.button")
    expect(page.locator("pre.diff .add")).to_contain_text("分派")
    designer.shoot("designer-diff")
    designer.close()

    admin = Person(browser, server, "admin", DESKTOP)
    admin.sign_in()
    admin.open("/admin")
    admin.shoot("admin")
    admin.close()


def test_every_page_of_the_demo_hospital_draws_without_a_browser_error(browser, server, session, test_clock):
    from engine.demo import DEMO_PASSWORD, load_demo

    load_demo(session, test_clock.now())
    session.commit()
    tours = [("supervisor", DESKTOP, ["/cockpit", "/escalations"]), ("dispatcher", DESKTOP, ["/dispatch", "/department"]),
             ("tech", PHONE, ["/work"]), ("nurse", PHONE, ["/department", "/orders/1"])]
    for username, viewport, paths in tours:
        person = Person(browser, server, username, viewport, DEMO_PASSWORD)
        person.sign_in()
        for path in paths:
            page = person.open(path)
            expect(page.locator("h1")).to_be_visible()
            person.shoot(f"demo-{username}{path.replace('/', '-')}")
        if username == "nurse":  # the filter narrows the list in place as she types (htmx)
            page = person.open("/department")
            page.fill("input[type=search]", "电梯")
            expect(page.locator("#results p.muted")).to_have_text("共 6 张工单")  # five repairs, a hazard found at one
            assert "q=%E7%94%B5%E6%A2%AF" in page.url  # the address follows, so the list can be shared
        if username == "supervisor":
            person.open("/cockpit")
            expect(person.page.locator("svg.chart")).to_have_count(9)  # seven figures and two fault trends
            expect(person.page.locator("svg.chart.lines circle").first).to_be_visible()
        person.close()


def test_the_repair_is_routed_to_the_technicians_inbox_and_the_nurse_finds_it_waiting_for_her(
        browser, server, make_user, session, test_clock):
    _people(make_user)
    # The electricians' rota: tech is on the day shift this Monday.
    tech_user = session.exec(select(User).where(User.username == "tech")).one()
    team = rotas.ensure_team(session, "水电班")
    rotas.add_member(session, team, tech_user, skills=["electrical"])
    rotas.put_on(session, rotas.add_shift(session, team, "白班", "08:00-17:30", days="workdays"),
                 test_clock.now().date(), [tech_user])
    session.commit()

    # The nurse reports from her phone; nothing waits for her yet.
    nurse = Person(browser, server, "nurse", PHONE)
    page = nurse.sign_in()
    expect(page.locator(".inbox-panel")).to_contain_text("目前没有等您处理的工单")
    page.click("a.tile[href='/submit/repair']")
    page.fill("input[name=title]", "治疗室灯管闪烁")
    page.select_option("select[name='f.category']", label="电气")
    page.click("button:has-text('提交')")
    expect(page.locator(".flash.ok")).to_contain_text("RP-2026-000001")

    # No dispatcher touches it: the repair rules put an ordinary electrical fault in the
    # electricians' pool, where whoever is on duty may take it.
    assert _order(session, "RP-2026-000001").team_id == team.id

    # The electrician, on his phone, lands on his work with his inbox on top, counted in the menu.
    tech = Person(browser, server, "tech", PHONE)
    page = tech.sign_in()
    panel = page.locator(".inbox-panel")
    expect(panel.locator(".inbox-group[data-waiting=claim]")).to_contain_text("治疗室灯管闪烁")
    expect(page.locator(".menu [data-count=inbox]")).to_have_text("1")
    tech.shoot("inbox-panel-work")
    page.click(".menu a[href='/inbox']")
    card = page.locator("li.card[data-number='RP-2026-000001']")
    card.locator("button[data-event=claim]").click()
    expect(page.locator(".flash.ok")).to_contain_text("抢单")
    page.locator("li.card[data-number='RP-2026-000001'] button[data-event=start]").click()
    expect(page.locator("section.inbox-group[data-waiting=resolve] h2")).to_contain_text("完工")  # not the pause
    card = page.locator("li.card[data-number='RP-2026-000001']")
    card.locator("summary[data-event=resolve]").click()
    card.locator("input[name='f.labour_minutes']").fill("25")
    tech.shoot("inbox")
    card.locator("details[open] button.primary").click()
    expect(page.locator(".flash.ok")).to_contain_text("完工")
    expect(page.locator(".empty")).to_have_text("目前没有等您处理的工单。")

    # The nurse opens Houqin again: her repair waits for her confirmation, and she was told.
    page = nurse.open("/")
    group = page.locator(".inbox-panel .inbox-group[data-waiting=confirm]")
    expect(group.locator("h3")).to_contain_text("待您验收")
    expect(group).to_contain_text("RP-2026-000001")
    expect(page.locator(".menu [data-count=unread]")).to_have_text("2")  # claimed, resolved
    nurse.shoot("inbox-panel-submit")
    page.click(".menu a[href='/notifications']")
    expect(page.locator(".notifications li.unread").first).to_contain_text("待验收")
    nurse.shoot("notifications")
    page.click("button:has-text('全部标为已读')")
    expect(page.locator(".menu [data-count=unread]")).to_have_count(0)
    page = nurse.open("/")
    page.locator(".inbox-panel .inbox-group[data-waiting=confirm] a").first.click()
    expect(page.locator("#feedback h2")).to_have_text("验收评价")

    for person in (nurse, tech):
        person.close()


def test_an_admin_resets_a_forgotten_password_and_the_nurse_chooses_her_own(browser, server, make_user):
    _people(make_user)
    nurse = Person(browser, server, "nurse", PHONE)
    nurse.sign_in()

    # The admin resets it from the users table; the temporary password is shown on that page only.
    admin = Person(browser, server, "admin", DESKTOP)
    page = admin.sign_in()
    page = admin.open("/admin")
    row = page.locator("tr", has=page.locator("code", has_text=re.compile("^nurse$")))
    row.locator("summary:has-text('重置密码')").click()
    row.locator("button:has-text('确认重置 nurse 的密码')").click()
    expect(page.locator("h1")).to_have_text("临时密码")
    temporary = page.locator("[data-temporary-password]").inner_text()
    admin.shoot("admin-password-reset")
    admin.close()

    # Her phone was signed out at once; with the temporary password she must choose her own first.
    page = nurse.open("/submit")
    assert "/login" in page.url
    nurse.password = temporary
    page = nurse.sign_in()
    assert "/account/password" in page.url
    expect(page.locator(".flash.error")).to_contain_text("请先设置新密码")
    expect(page.locator("nav.menu a")).to_have_count(0)  # nowhere else to go yet
    page.fill("input[name=current_password]", temporary)
    page.fill("input[name=new_password]", "nurse-is-me-now")
    page.fill("input[name=new_password_again]", "nurse-is-me-now")
    page.click("form[action='/account/password'] button.primary")
    expect(page.locator(".flash.error").last).to_contain_text("密码不能包含用户名")
    nurse.shoot("password-change-refused")
    nurse.problems.remove("Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)")
    page.fill("input[name=current_password]", temporary)
    page.fill("input[name=new_password]", "ward-five-tap-leak")
    page.fill("input[name=new_password_again]", "ward-five-tap-leak")
    page.click("form[action='/account/password'] button.primary")
    expect(page.locator(".flash.ok")).to_have_text("密码已修改，其他设备上的登录已退出。")
    assert page.url.endswith("/submit")
    expect(page.locator("h1")).to_have_text("报修/申请")
    nurse.close()
