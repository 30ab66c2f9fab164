"""The engine asks the compiled process, once: guards run once per fire, history is read in one query.

No HTTP: the engine's own functions on a database, as the API and the pages call them.
"""
from datetime import datetime

import pytest
from sqlalchemy import event

from engine.errors import Conflict, Forbidden, NotFound
from engine.orders import workorders
from engine.orders.workorders import EventInput
from language_support import raises_saying
from workflows.conditions import Condition

NOW = datetime.fromisoformat("2026-10-12T09:00:00+08:00")  # a Monday, working hours


@pytest.fixture
def staff(make_user):
    return {
        "nurse": make_user("nurse", "requester", department="心内科"),
        "head": make_user("head", "dept_head", department="心内科"),
        "other_head": make_user("other_head", "dept_head", department="急诊科"),
        "stranger": make_user("stranger", "requester", department="急诊科"),
        "logistics": make_user("logistics", "logistics", department="后勤保障部"),
        "purchaser": make_user("purchaser", "purchaser", department="采购中心"),
        "supervisor": make_user("supervisor", "supervisor", department="后勤保障部"),
        "tech": make_user("tech", "technician", "inspector", department="后勤保障部"),
        "inspector": make_user("inspector", "inspector", department="保卫科"),
    }


@pytest.fixture
def guard_calls(monkeypatch):
    calls = []
    holds = Condition.holds
    monkeypatch.setattr(Condition, "holds", lambda self, values: calls.append(self.source) or holds(self, values))
    return calls


def reviewed_request(session, staff, amount):
    order = workorders.create(session, staff["nurse"], process="procurement", title="输液泵",
                              fields={"items": ["输液泵 2 台"], "amount": amount}, now=NOW)
    workorders.fire(session, staff["head"], order.id, "approve", EventInput(), NOW)
    workorders.fire(session, staff["logistics"], order.id, "review", EventInput(), NOW)
    return order


def test_a_guard_is_evaluated_once_per_fire(session, staff, guard_calls):
    order = reviewed_request(session, staff, 36000)
    guard_calls.clear()
    workorders.fire(session, staff["purchaser"], order.id, "purchase", EventInput(), NOW)
    assert guard_calls == ["amount < 50000"]
    assert order.state == "purchasing"


def test_a_guard_that_fails_is_evaluated_once_and_says_which_condition(session, staff, guard_calls):
    order = reviewed_request(session, staff, 180000)
    guard_calls.clear()
    with raises_saying(Conflict, "condition 'amount < 50000' does not hold"):
        workorders.fire(session, staff["purchaser"], order.id, "purchase", EventInput(), NOW)
    assert guard_calls == ["amount < 50000"]


def test_another_departments_head_is_refused_and_a_stranger_finds_nothing(session, staff):
    order = workorders.create(session, staff["nurse"], process="procurement", title="输液泵",
                              fields={"items": ["输液泵 2 台"], "amount": 36000}, now=NOW)
    with raises_saying(Forbidden, "may be done only by: dept_head@department"):
        workorders.fire(session, staff["other_head"], order.id, "approve", EventInput(), NOW)
    with raises_saying(NotFound, f"work order {order.id} not found"):
        workorders.fire(session, staff["stranger"], order.id, "approve", EventInput(), NOW)
    assert workorders.available_events(session, order, staff["head"]) == ["approve", "reject"]
    assert workorders.available_events(session, order, staff["other_head"]) == []


def fixed_hazards(session, staff, count):
    orders = []
    for number in range(count):
        order = workorders.create(session, staff["inspector"], process="hazard", title=f"消防通道堆放杂物 {number}",
                                  fields={"category": "fire", "risk_level": "high"}, now=NOW)
        workorders.fire(session, staff["inspector"], order.id, "register", EventInput(), NOW)
        workorders.fire(session, staff["supervisor"], order.id, "assign", EventInput(assignee="tech"), NOW)
        workorders.fire(session, staff["tech"], order.id, "start", EventInput(), NOW)
        workorders.fire(session, staff["tech"], order.id, "submit_fix", EventInput(fields={"measures": "清理杂物"}), NOW)
        orders.append(order)
    return orders


def test_the_fixer_may_not_reinspect_and_another_inspector_may(session, staff):
    [order] = fixed_hazards(session, staff, 1)
    assert workorders.available_events(session, order, staff["tech"]) == []
    with raises_saying(Forbidden, "'pass' must be done by someone other than who did 'submit_fix'"):
        workorders.fire(session, staff["tech"], order.id, "pass", EventInput(), NOW)
    assert workorders.available_events(session, order, staff["inspector"]) == ["pass", "fail"]
    workorders.fire(session, staff["inspector"], order.id, "pass", EventInput(), NOW)
    assert order.state == "closed_out"


def test_a_board_reads_who_did_what_in_one_query(session, staff):
    orders = fixed_hazards(session, staff, 3)
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    bind = session.get_bind()
    event.listen(bind, "before_cursor_execute", record)
    try:
        available = workorders.available_for(session, orders, staff["tech"])
    finally:
        event.remove(bind, "before_cursor_execute", record)
    assert all(available[order.id] == [] for order in orders)
    assert len([s for s in statements if "FROM history" in s]) == 1
