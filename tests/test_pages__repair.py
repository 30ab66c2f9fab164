"""A repair through the pages: the form the definition generates, the buttons the engine allows, the lists."""
import re

import pytest

from page_support import text_of, visitor


@pytest.fixture
def people(api):
    api.user("nurse", "requester", department="心内科")
    api.user("nurse2", "requester", department="急诊科")
    api.user("dispatcher", "dispatcher", department="后勤保障部")
    api.user("tech", "technician", department="后勤保障部", team="水电班")
    api.user("tech2", "technician", department="后勤保障部", team="空调班")
    api.user("supervisor", "supervisor", department="后勤保障部")
    return api


def _id(response) -> int:
    return int(re.fullmatch(r"/orders/(\d+)", response.headers["location"]).group(1))


def _buttons(html: str) -> list[str]:
    return re.findall(r'data-event="([a-z_]+)"', html)


def test_the_repair_form_asks_for_what_the_definition_declares_and_not_for_later_steps(app, people):
    page = visitor(app, "nurse").get("/submit/repair").text
    assert 'name="f.category"' in page and "给排水" in page and "故障类别" in page
    assert 'name="f.labour_minutes"' not in page and 'name="f.hold_reason"' not in page  # filled in by events later
    picker = visitor(app, "nurse").get("/submit").text
    tiles = re.findall(r'<a class="tile" href="/submit/(\w+)">\s*<strong>([^<]+)</strong>', picker)
    # each tile says what the user wants to do, 报修 first, as the definitions rank them
    assert tiles[:4] == [("repair", "我要报修"), ("procurement", "物资申领"), ("complaint", "我要投诉"), ("hazard", "隐患上报")]


def test_a_nurse_reports_a_leak_and_sees_it_with_its_timers(app, people, test_clock):
    nurse = visitor(app, "nurse")
    response = nurse.post("/submit/repair", {"title": "病房水龙头漏水", "location": "住院楼5F 512", "f.category": "plumbing",
                                             "priority": "normal", "description": "一直滴水"})
    page = nurse.follow(response)
    words = text_of(page.text)
    assert "已提交，工单号 RP-2026-000001" in words
    assert "病房水龙头漏水" in words and "已报修" in words and "给排水" in words and "住院楼5F 512" in words
    # response: 2 working hours from Monday 09:00; resolution: 3 working days
    assert 'data-remaining="7200"' in page.text and "截止 2026-10-12 11:00" in words
    assert _buttons(page.text) == ["cancel"]
    assert 'class="mermaid"' in page.text and "Class reported s_active" in page.text
    order = people.as_("nurse").get(f"/api/v1/workorders/{_id(response)}").json()
    assert order["fields"] == {"category": "plumbing"} and order["description"] == "一直滴水"


def test_cancelling_stands_apart_asks_why_and_is_sent_only_once_confirmed(app, people):
    order = people.new_order("nurse", title="灯不亮")
    main, apart = visitor(app, "dispatcher").get(f"/orders/{order['id']}").text.split('class="events apart"')
    assert _buttons(main) == ["assign"] and _buttons(apart) == ["cancel"]  # the work's own button, then the way out
    assert 'name="confirmed"' in apart and "确定撤单？" in text_of(apart) and "原因" in text_of(apart)

    nurse = visitor(app, "nurse")
    unticked = nurse.follow(nurse.post(f"/orders/{order['id']}/events/cancel", {"comment": "已自行修好", "version": "1"}))
    assert "请先勾选确认" in text_of(unticked.text)
    assert people.as_("nurse").get(f"/api/v1/workorders/{order['id']}").json()["state"] == "reported"
    nurse.post(f"/orders/{order['id']}/events/cancel", {"comment": "已自行修好", "confirmed": "yes", "version": "1"})
    detail = people.as_("nurse").get(f"/api/v1/workorders/{order['id']}").json()
    assert detail["state"] == "cancelled" and detail["history"][-1]["comment"] == "已自行修好"


def test_a_form_missing_a_required_field_comes_back_marked_and_creates_nothing(app, people):
    nurse = visitor(app, "nurse")
    response = nurse.post("/submit/repair", {"title": "漏水", "location": "5F", "priority": "normal"})
    assert response.status_code == 422
    page = response.text
    assert "请修改下面标红的内容" in text_of(page) and 'class="field invalid"' in page
    assert 'value="漏水"' in page and 'value="5F"' in page  # what was typed stays
    assert people.as_("nurse").get("/api/v1/workorders").json()["total"] == 0


def test_the_dispatch_board_shows_unassigned_work_most_urgent_first_with_each_technicians_load(app, people, test_clock):
    normal = people.new_order("nurse", title="门锁损坏", priority="normal")
    test_clock.advance(minutes=5)
    urgent = people.new_order("nurse2", title="手术室空调不制冷", priority="urgent", fields={"category": "hvac"})
    busy = people.new_order("nurse", title="灯不亮", priority="low", fields={"category": "electrical"})
    people.fire("dispatcher", busy["id"], "assign", assignee="tech")
    page = visitor(app, "dispatcher").get("/dispatch").text
    waiting = page.split('class="lane people"')[0].split("待派单")[1].split("处理中")[0]
    assert waiting.index(urgent["number"]) < waiting.index(normal["number"])
    assert busy["number"] not in waiting
    assert re.search(r"tech\b.*?在办 1 件", page, re.S) and re.search(r"tech2\b.*?在办 0 件", page, re.S)


def test_dispatcher_assigns_from_the_board_in_one_step(app, people):
    order = people.new_order("nurse")
    dispatcher = visitor(app, "dispatcher")
    dispatcher.get("/dispatch")
    response = dispatcher.post(f"/orders/{order['id']}/events/assign", {"assignee": "tech", "version": "1", "next": "/dispatch"})
    assert response.headers["location"] == "/dispatch"
    assert "已完成“派单”" in text_of(dispatcher.get("/dispatch").text)
    detail = people.as_("dispatcher").get(f"/api/v1/workorders/{order['id']}").json()
    assert (detail["state"], detail["assignee"], detail["first_contact"]) == ("assigned", "tech", "dispatcher")


def test_the_technician_works_it_from_my_work_with_the_fields_each_step_needs(app, people):
    order = people.new_order("nurse")
    people.fire("dispatcher", order["id"], "assign", assignee="tech")
    tech = visitor(app, "tech")
    page = tech.get("/work").text
    assert order["number"] in page and _buttons(page) == ["accept", "decline"]  # 退单 needs a reason, asked on its form
    tech.post(f"/orders/{order['id']}/events/accept", {"next": "/work"})
    tech.post(f"/orders/{order['id']}/events/start", {"next": "/work"})
    page = tech.get("/work").text
    assert _buttons(page) == ["hold", "resolve"]
    assert 'name="f.labour_minutes"' in page and 'name="f.parts"' in page and 'name="f.hold_reason"' in page

    refused = tech.follow(tech.post(f"/orders/{order['id']}/events/resolve", {"f.labour_minutes": "三十", "next": "/work"}))
    assert "工时（分钟） 须为整数" in text_of(refused.text)
    missing = tech.follow(tech.post(f"/orders/{order['id']}/events/resolve", {"f.labour_minutes": "", "next": "/work"}))
    assert "请修改后重试" in text_of(missing.text) and "工时（分钟） 为必填项" in text_of(missing.text)

    tech.post(f"/orders/{order['id']}/events/resolve", {"f.labour_minutes": "45", "f.parts": "阀芯\n生料带\n", "next": "/work"})
    detail = people.as_("tech").get(f"/api/v1/workorders/{order['id']}").json()
    assert detail["state"] == "resolved"
    assert detail["fields"]["labour_minutes"] == 45 and detail["fields"]["parts"] == ["阀芯", "生料带"]
    assert _buttons(tech.get("/work").text) == []  # waiting for the nurse now


def test_a_stale_button_says_someone_else_changed_it_and_changes_nothing(app, people):
    order = people.new_order("nurse")
    dispatcher = visitor(app, "dispatcher")
    people.fire("dispatcher", order["id"], "assign", assignee="tech")
    page = dispatcher.follow(dispatcher.post(f"/orders/{order['id']}/events/reassign", {"assignee": "tech2", "version": "1"}))
    assert "无法执行" in text_of(page.text) and "已被他人修改" in text_of(page.text)
    assert people.as_("nurse").get(f"/api/v1/workorders/{order['id']}").json()["assignee"] == "tech"


def test_the_nurse_confirms_with_five_stars_and_the_order_closes(app, people):
    order = people.new_order("nurse")
    people.fire("dispatcher", order["id"], "assign", assignee="tech")
    for event in ("accept", "start"):
        people.fire("tech", order["id"], event)
    people.fire("tech", order["id"], "resolve", fields={"labour_minutes": 30})
    nurse = visitor(app, "nurse")
    page = nurse.get(f"/orders/{order['id']}").text
    assert "验收评价" in text_of(page) and 'name="rating"' in page
    assert "confirm" not in _buttons(page) and "reopen" not in _buttons(page)  # the feedback form drives them
    assert "验收评价" not in text_of(visitor(app, "tech").get(f"/orders/{order['id']}").text)

    closed = nurse.follow(nurse.post(f"/orders/{order['id']}/feedback", {"rating": "5", "satisfied": "yes", "comment": "很快"}))
    words = text_of(closed.text)
    assert "感谢您的评价" in words and "已办结" in words and "★★★★★" in words and "很快" in words
    assert _buttons(closed.text) == []


def test_an_unsatisfied_nurse_must_say_why(app, people):
    order = people.new_order("nurse")
    people.fire("dispatcher", order["id"], "assign", assignee="tech")
    for event in ("accept", "start"):
        people.fire("tech", order["id"], event)
    people.fire("tech", order["id"], "resolve", fields={"labour_minutes": 30})
    nurse = visitor(app, "nurse")
    page = nurse.follow(nurse.post(f"/orders/{order['id']}/feedback", {"satisfied": "no", "comment": ""}))
    assert "请修改后重试" in text_of(page.text)
    assert people.as_("nurse").get(f"/api/v1/workorders/{order['id']}").json()["state"] == "resolved"
    nurse.post(f"/orders/{order['id']}/feedback", {"satisfied": "no", "comment": "还在漏"})
    assert people.as_("nurse").get(f"/api/v1/workorders/{order['id']}").json()["state"] == "assigned"


def test_my_department_lists_the_departments_orders_with_late_ones_marked(app, people, test_clock):
    mine = people.new_order("nurse", title="心内科漏水")
    people.new_order("nurse2", title="急诊科漏水")
    test_clock.advance(hours=3)  # the 2-hour response limit has passed
    page = visitor(app, "nurse").get("/department").text
    assert "心内科漏水" in page and "急诊科漏水" not in page
    assert 'class="card is-late"' in page and "超时" in text_of(page)
    assert "共 1 张工单" in text_of(page)
    late = visitor(app, "nurse").get("/department?late=true&q=漏水").text
    assert mine["number"] in late
    empty = visitor(app, "nurse").get("/department?q=电梯").text
    assert "没有符合条件的工单" in text_of(empty)


def test_a_supervisor_sees_the_overdue_order_and_reassigns_raises_and_comments(app, people, test_clock):
    order = people.new_order("nurse", title="电梯异响", fields={"category": "elevator"})
    people.fire("dispatcher", order["id"], "assign", assignee="tech")
    assert order["number"] not in visitor(app, "supervisor").get("/escalations").text
    test_clock.advance(days=1)
    supervisor = visitor(app, "supervisor")
    page = supervisor.get("/escalations").text
    assert order["number"] in page and 'data-event="reassign"' in page and "提为紧急" in text_of(page)
    supervisor.post(f"/orders/{order['id']}/events/reassign", {"assignee": "tech2", "version": "2", "next": "/escalations"})
    supervisor.get("/escalations")
    supervisor.post(f"/orders/{order['id']}/priority", {"priority": "high", "version": "3", "next": "/escalations"})
    supervisor.get("/escalations")
    supervisor.post(f"/orders/{order['id']}/comment", {"comment": "今天下班前修好", "next": "/escalations"})
    detail = people.as_("supervisor").get(f"/api/v1/workorders/{order['id']}").json()
    assert (detail["assignee"], detail["priority"]) == ("tech2", "high")
    timeline = text_of(visitor(app, "nurse").get(f"/orders/{order['id']}").text)
    assert "今天下班前修好" in timeline and "一般 → 紧急" in timeline and "改派" in timeline


def test_the_dispatch_board_leaves_out_work_the_dispatcher_cannot_act_on(app, people):
    request = people.new_order("nurse", process="procurement", title="采购输液泵",
                               fields={"items": ["输液泵"], "amount": 3000})
    repair = people.new_order("nurse", title="门锁损坏", fields={"category": "building"})
    waiting = visitor(app, "dispatcher").get("/dispatch").text.split("处理中")[0]
    assert repair["number"] in waiting and request["number"] not in waiting
