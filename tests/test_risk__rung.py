"""A rung `at: risk 0.7` warns the supervisor before the breach, once per timer cycle, fired by the sweeper;
the ladder at a time goes on as before.

The shipped repair ladder has one on its response timer (level 4, notify role:supervisor). History as in
test_risk__api.py: of 30 high-priority electrical repairs, 20 were answered late.
"""
from datetime import timedelta

from sqlmodel import select

from engine.storage.models import Escalation, History, Notification, SlaTimer, WorkOrder
from risk_support import accepted_after, file_repairs
from sla_support import sweep
from web.i18n import Translator
from test_risk__api import NOW, START, who  # noqa: F401 (the fixture)


def _history(session, who):  # noqa: F811
    file_repairs(session, who, start=START, category="electrical", outcomes=accepted_after(*[10] * 10, *[45] * 20))


def test_the_supervisor_is_warned_once_before_the_breach_and_the_ladder_goes_on(api, session, who, test_clock):  # noqa: F811
    _history(session, who)
    order_id = file_repairs(session, who, start=NOW - timedelta(minutes=16), outcomes=[None], category="electrical")[0]
    test_clock.set(NOW)
    fired = sweep(api, "supervisor")
    assert [(f["work_order_id"], f["timer"], f["level"], f["recipients"]) for f in fired] == [
        (order_id, "response", 4, ["supervisor"])]
    session.expire_all()
    timer = session.exec(select(SlaTimer).where(SlaTimer.work_order_id == order_id, SlaTimer.name == "response")).one()
    assert timer.level == -1 and session.get(WorkOrder, order_id).escalation_level == 0  # nothing is late yet
    warning = session.exec(select(Notification).where(Notification.work_order_id == order_id,
                                                      Notification.kind == "warning")).one()
    assert warning.kind == "warning" and "同类工单 100% 在剩余时间内未完成" in Translator("zh").message(warning.message)
    entry = session.exec(select(History).where(History.work_order_id == order_id, History.kind == "escalation")).one()
    assert entry.data["risk"]["probability"] == 1.0 and entry.data["level"] == 4

    test_clock.set(NOW + timedelta(minutes=3))  # still at risk: not warned again
    assert sweep(api, "supervisor") == []
    test_clock.set(NOW + timedelta(minutes=9))  # 80% of the 30 minutes: the ladder's own warning
    assert [(f["level"], f["timer"]) for f in sweep(api, "supervisor")] == [(0, "response")]
    test_clock.set(NOW + timedelta(minutes=15))  # due: escalated, as ever
    assert [(f["level"], f["timer"]) for f in sweep(api, "supervisor")] == [(1, "response")]
    levels = session.exec(select(Escalation.level).where(Escalation.work_order_id == order_id)
                          .order_by(Escalation.id)).all()
    assert levels == [4, 0, 1]


def test_a_repair_below_the_rungs_risk_is_listed_but_nobody_is_woken(api, session, who, test_clock):  # noqa: F811
    _history(session, who)
    order_id = file_repairs(session, who, start=NOW - timedelta(minutes=6), outcomes=[None], category="electrical")[0]
    test_clock.set(NOW)
    assert sweep(api, "supervisor") == []  # about 2 in 3: above the queue's 0.6, below the rung's 0.7
    listed = api.as_("supervisor").get("/api/v1/workorders?at_risk=true").json()["items"]
    assert [item["id"] for item in listed] == [order_id]


def test_a_cancelled_or_answered_repair_is_not_warned(api, session, who, test_clock):  # noqa: F811
    _history(session, who)
    file_repairs(session, who, start=NOW - timedelta(minutes=16), outcomes=[(15, "accept")], category="electrical")
    test_clock.set(NOW)
    assert [f for f in sweep(api, "supervisor") if f["timer"] == "response"] == []


