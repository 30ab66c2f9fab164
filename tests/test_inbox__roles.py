"""Each person's inbox holds exactly what they may act on now, for every role of the shipped processes.

One hospital morning with work in every waiting state of repair, material requests,
hazards, complaints and planned maintenance; then each person's inbox, asked of the
engine, is compared with what their job is: nothing they may merely do (cancel,
reassign, reject), nothing that waits for somebody else.
"""
from datetime import datetime

import pytest
from sqlalchemy import event

from engine.orders import workorders
from engine.orders.inbox import inbox
from engine.orders.workorders import EventInput

NOW = datetime.fromisoformat("2026-10-12T09:00:00+08:00")  # a Monday, working hours


@pytest.fixture
def staff(make_user):
    return {
        "nurse": make_user("nurse", "requester", department="心内科"),
        "other_nurse": make_user("other_nurse", "requester", department="急诊科"),
        "head": make_user("head", "dept_head", department="心内科"),
        "other_head": make_user("other_head", "dept_head", department="急诊科"),
        "dispatcher": make_user("dispatcher", "dispatcher", department="后勤保障部"),
        "tech": make_user("tech", "technician", department="后勤保障部"),
        "fixer": make_user("fixer", "technician", "inspector", department="后勤保障部"),
        "idle_tech": make_user("idle_tech", "technician", department="后勤保障部"),
        "logistics": make_user("logistics", "logistics", department="后勤保障部"),
        "purchaser": make_user("purchaser", "purchaser", department="采购中心"),
        "leader": make_user("leader", "leader"),
        "inspector": make_user("inspector", "inspector", department="保卫科"),
        "supervisor": make_user("supervisor", "supervisor", department="后勤保障部"),
        "designer": make_user("designer", "designer"),
        "admin": make_user("admin", "admin"),
    }


def fire(session, staff, who, order, event, **request):
    workorders.fire(session, staff[who], order.id, event, EventInput(**request), NOW)


def repair(session, staff, title, reporter="nurse"):
    return workorders.create(session, staff[reporter], process="repair", title=title,
                             fields={"category": "plumbing"}, now=NOW)


def request(session, staff, title, amount, **fields):
    return workorders.create(session, staff["nurse"], process="procurement", title=title,
                             fields={"items": [title], "amount": amount, **fields}, now=NOW)


@pytest.fixture
def morning(session, staff):
    """Work orders in every state where somebody waits, by name."""
    s = session
    o = {}
    o["reported"] = repair(s, staff, "水龙头漏水")
    o["assigned"] = repair(s, staff, "灯不亮")
    fire(s, staff, "dispatcher", o["assigned"], "assign", assignee="tech")
    o["working"] = repair(s, staff, "空调不制冷")
    fire(s, staff, "dispatcher", o["working"], "assign", assignee="tech")
    fire(s, staff, "tech", o["working"], "accept")
    fire(s, staff, "tech", o["working"], "start")
    o["resolved"] = repair(s, staff, "门锁坏了")
    fire(s, staff, "dispatcher", o["resolved"], "assign", assignee="tech")
    for name in ("accept", "start"):
        fire(s, staff, "tech", o["resolved"], name)
    fire(s, staff, "tech", o["resolved"], "resolve", fields={"labour_minutes": 30})
    o["closed"] = repair(s, staff, "插座松动")
    fire(s, staff, "dispatcher", o["closed"], "cancel", comment="重复报修")
    o["elsewhere"] = repair(s, staff, "急诊科水管", reporter="other_nurse")

    o["submitted"] = request(s, staff, "输液泵", 36000)
    o["approved"] = request(s, staff, "轮椅", 3000)
    fire(s, staff, "head", o["approved"], "approve")
    o["big"] = request(s, staff, "监护仪", 180000)
    o["small"] = request(s, staff, "血压计", 2000)
    o["stock"] = request(s, staff, "纱布", 100, from_stock=True)
    for name in ("big", "small", "stock"):
        fire(s, staff, "head", o[name], "approve")
        fire(s, staff, "logistics", o[name], "review")
    o["ordered"] = request(s, staff, "打印机", 4000)
    fire(s, staff, "head", o["ordered"], "approve")
    fire(s, staff, "logistics", o["ordered"], "review")
    for name in ("purchase", "order"):
        fire(s, staff, "purchaser", o["ordered"], name)
    o["delivered"] = request(s, staff, "体温计", 500, from_stock=True)
    fire(s, staff, "head", o["delivered"], "approve")
    fire(s, staff, "logistics", o["delivered"], "review")
    fire(s, staff, "logistics", o["delivered"], "deliver")

    o["hazard"] = workorders.create(s, staff["nurse"], process="hazard", title="消防通道堆放杂物",
                                    fields={"category": "fire", "risk_level": "high"}, now=NOW)
    o["registered"] = workorders.create(s, staff["inspector"], process="hazard", title="灭火器过期",
                                        fields={"category": "fire", "risk_level": "medium"}, now=NOW)
    fire(s, staff, "inspector", o["registered"], "register")
    o["fixed"] = workorders.create(s, staff["inspector"], process="hazard", title="配电箱未上锁",
                                   fields={"category": "facility", "risk_level": "high"}, now=NOW)
    fire(s, staff, "inspector", o["fixed"], "register")
    fire(s, staff, "supervisor", o["fixed"], "assign", assignee="fixer")
    fire(s, staff, "fixer", o["fixed"], "start")
    fire(s, staff, "fixer", o["fixed"], "submit_fix")

    o["complaint"] = workorders.create(s, staff["nurse"], process="complaint", title="病房太吵", now=NOW)
    o["replied"] = workorders.create(s, staff["nurse"], process="complaint", title="食堂饭菜凉", now=NOW)
    fire(s, staff, "dispatcher", o["replied"], "accept")
    fire(s, staff, "dispatcher", o["replied"], "assign", assignee="tech")
    fire(s, staff, "tech", o["replied"], "start")
    fire(s, staff, "tech", o["replied"], "reply", fields={"reply": "已加保温箱"})

    o["planned"] = workorders.create(s, staff["supervisor"], process="maintenance", title="电梯月检",
                                     fields={"category": "elevator"}, now=NOW)
    s.commit()
    return o


def holds(session, actor) -> dict[tuple[str, str], list[str]]:
    return {(g.process, g.event): [o.title for o in g.orders] for g in inbox(session, actor).groups}


def titles(morning, *names):
    return [morning[name].title for name in names]


def test_each_role_holds_exactly_what_it_may_act_on(session, staff, morning):
    m = morning
    expected = {
        "nurse": {("repair", "confirm"): titles(m, "resolved"), ("procurement", "confirm"): titles(m, "delivered")},
        "other_nurse": {},
        "head": {("procurement", "approve"): titles(m, "submitted")},
        "other_head": {},
        "dispatcher": {("repair", "assign"): titles(m, "reported", "elsewhere"),
                       ("hazard", "assign"): titles(m, "registered"),
                       ("complaint", "accept"): titles(m, "complaint"),
                       ("complaint", "confirm"): titles(m, "replied"),
                       ("maintenance", "assign"): titles(m, "planned")},
        "supervisor": {("repair", "assign"): titles(m, "reported", "elsewhere"),
                       ("hazard", "assign"): titles(m, "registered"),
                       ("maintenance", "assign"): titles(m, "planned")},
        "tech": {("repair", "accept"): titles(m, "assigned"), ("repair", "resolve"): titles(m, "working")},
        "idle_tech": {},
        # The fixer may not re-inspect his own fix; another inspector may.
        "fixer": {("hazard", "register"): titles(m, "hazard")},
        "inspector": {("hazard", "register"): titles(m, "hazard"), ("hazard", "pass"): titles(m, "fixed")},
        "logistics": {("procurement", "review"): titles(m, "approved"), ("procurement", "deliver"): titles(m, "stock")},
        # From stock or bought: both are open to a request under the threshold, as the process says.
        "purchaser": {("procurement", "purchase"): titles(m, "small", "stock"), ("procurement", "receive"): titles(m, "ordered")},
        "leader": {("procurement", "approve_leader"): titles(m, "big")},
        "designer": {},
        "admin": {},
    }
    for name, wanted in expected.items():
        assert holds(session, staff[name]) == wanted, name


def test_every_order_in_an_inbox_offers_that_event_to_its_owner(session, staff, morning):
    """The inbox and the buttons agree: the authority that draws the buttons chose the inbox."""
    for actor in staff.values():
        for group in inbox(session, actor).groups:
            for order in group.orders:
                assert group.event in workorders.available_events(session, order, actor), (actor.username, order.title)


def test_the_nurses_resolved_repair_waits_for_her_verdict(session, staff, morning):
    [repair_group, request_group] = inbox(session, staff["nurse"]).groups
    assert (repair_group.event, repair_group.verdict, repair_group.label.zh) == ("confirm", True, "验收通过")
    assert [o.number for o in repair_group.orders] == [morning["resolved"].number]
    assert request_group.verdict and request_group.count == 1
    assert inbox(session, staff["nurse"]).total == 2


def test_oldest_first(session, staff):
    later = datetime.fromisoformat("2026-10-12T11:00:00+08:00")
    newer = workorders.create(session, staff["nurse"], process="repair", title="新的", fields={"category": "hvac"}, now=later)
    older = repair(session, staff, "旧的")
    session.commit()
    [group] = inbox(session, staff["dispatcher"]).groups
    assert [o.id for o in group.orders] == [older.id, newer.id]


def test_the_number_of_queries_does_not_grow_with_the_work(session, staff, db_url):
    from engine.storage.db import get_engine

    def queries():
        seen = []
        record = lambda conn, cursor, statement, *args: seen.append(statement)  # noqa: E731
        event.listen(get_engine(db_url), "before_cursor_execute", record)
        try:
            with type(session)(get_engine(db_url)) as fresh:
                total = inbox(fresh, staff["tech"]).total
        finally:
            event.remove(get_engine(db_url), "before_cursor_execute", record)
        return total, len(seen)

    def assigned(count):
        for number in range(count):
            order = repair(session, staff, f"漏水 {number}")
            fire(session, staff, "dispatcher", order, "assign", assignee="tech")
        session.commit()

    assigned(2)
    queries()  # the machines are compiled once, on first use
    few = queries()
    assigned(20)
    many = queries()
    assert (few[0], many[0]) == (2, 22)
    assert many[1] == few[1] == 2  # the process versions, the candidates (no different-person rule to read)
