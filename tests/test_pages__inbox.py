"""My inbox atop the landing page, the counts in the menu, and the notifications page."""
import re

import pytest

from page_support import text_of, visitor


@pytest.fixture
def people(api):
    api.user("nurse", "requester", department="心内科")
    api.user("dispatcher", "dispatcher", department="后勤保障部")
    api.user("tech", "technician", department="后勤保障部")
    api.user("buyer", "purchaser", department="采购中心")
    return api


def counts(html: str) -> dict[str, int]:
    return {name: int(n) for name, n in re.findall(r'data-count="(inbox|unread)"[^>]*>(\d+)<', html)}


def resolved(api):
    order = api.new_order("nurse", title="水龙头漏水")
    api.fire("dispatcher", order["id"], "assign", assignee="tech")
    for event in ("accept", "start"):
        api.fire("tech", order["id"], event)
    api.fire("tech", order["id"], "resolve", fields={"labour_minutes": 20})
    return order


def test_the_nurse_lands_on_her_repair_waiting_for_her_confirmation(app, people):
    order = resolved(people)
    nurse = visitor(app, "nurse")
    page = nurse.follow(nurse.get("/"))
    words = text_of(page.text)
    assert "我的待办" in words and "待您验收" in words and order["number"] in words
    main = page.text.split("<main>")[1]
    assert main.index('class="inbox-panel"') < main.index("<h1")  # the inbox first, then the submit page as before
    assert counts(page.text) == {"inbox": 1, "unread": 3}  # assigned, accepted, resolved


def test_a_technician_lands_on_his_work_with_his_inbox_first(app, people):
    order = people.new_order("nurse", title="灯不亮")
    people.fire("dispatcher", order["id"], "assign", assignee="tech")
    tech = visitor(app, "tech")
    page = tech.follow(tech.get("/"))
    assert page.url.path == "/work"
    panel = text_of(page.text.split('class="inbox-panel"')[1].split("</section>")[0])
    assert "接单" in panel and "灯不亮" in panel
    inbox_page = tech.get("/inbox").text
    assert 'data-event="accept"' in inbox_page and "灯不亮" in text_of(inbox_page)
    tech.post(f"/orders/{order['id']}/events/accept", {"next": "/inbox"})
    assert "开始维修" in text_of(tech.get("/inbox").text)


def test_someone_with_nothing_waiting_is_told_so_and_sees_no_count(app, people):
    buyer = visitor(app, "buyer")
    page = buyer.follow(buyer.get("/"))
    assert "目前没有等您处理的工单" in text_of(page.text) and counts(page.text) == {}


def test_the_inbox_in_english(app, people):
    resolved(people)
    nurse = visitor(app, "nurse")
    nurse.post("/language", {"language": "en", "next": "/inbox"})
    words = text_of(nurse.get("/inbox").text)
    assert "My inbox" in words and "Waiting for your confirmation" in words and "Confirm and rate" in words


def test_the_notifications_page_lists_them_and_marks_them_read(app, people):
    order = people.new_order("nurse", process="procurement", title="输液泵", fields={"items": ["输液泵"], "amount": 3000})
    people.user("head", "dept_head", department="心内科")
    people.fire("head", order["id"], "reject", comment="预算不足")
    people.fire("dispatcher", people.new_order("nurse")["id"], "assign", assignee="tech")
    nurse = visitor(app, "nurse")
    page = nurse.get("/notifications").text
    words = text_of(page)
    assert "已驳回：预算不足" in words and "已派单" in words and counts(page)["unread"] == 2
    first = re.search(r'name="id" value="(\d+)"', page).group(1)
    after = nurse.follow(nurse.post("/notifications/read", {"id": first}))
    assert counts(after.text)["unread"] == 1
    after = nurse.follow(nurse.post("/notifications/read", {}))
    assert "unread" not in counts(after.text) and "已将 1 条通知标为已读" in text_of(after.text)
    assert nurse.post("/notifications/read", {"id": "abc"}).status_code == 303
    assert nurse.post("/notifications/read", {"id": first}, csrf=False).status_code == 403
