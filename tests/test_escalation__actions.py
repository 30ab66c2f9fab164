"""What a ladder's rungs do besides telling people: reassign, add watchers, reach named people.

A small process declared here (errands between wards) keeps the ladder under the
test's control; nothing in the engine knows it.
"""
import pytest
from sqlmodel import select

from engine.published import definitions
from engine.sla import escalation
from engine.storage.models import SlaTimer, User
from sla_support import at, sweep

ERRAND = """
key: errand
title: {zh: 跑腿, en: Errand}
number_prefix: ER
states:
  open:       {label: {zh: 待派, en: Open}, initial: true}
  dispatched: {label: {zh: 已派, en: Dispatched}}
  taken:      {label: {zh: 已接, en: Taken}}
  done:       {label: {zh: 完成, en: Done}, final: true}
events:
  - {name: dispatch, from: open, to: dispatched, roles: [dispatcher], assigns: required}
  - {name: take, from: dispatched, to: taken, roles: [assignee]}
  - {name: finish, from: taken, to: done, roles: [assignee]}
sla:
  answer:
    start: [open]
    stop: [taken]
    targets:
      urgent: {within: 10m}
      high:   {within: 10m}
      normal: {within: 10m}
      low:    {within: 10m}
    escalation:
      - {level: 1, at: due, notify: [reporter, first_contact, user:boss], watch: [user:boss], reassign: role:technician}
      - {level: 2, at: due + 10m, notify: [watchers, dept_head, assignee]}
  delivery:
    start: [taken]
    stop: [done]
    targets:
      urgent: {within: 1h}
      high:   {within: 1h}
      normal: {within: 1h}
      low:    {within: 1h}
    escalation:
      - {level: 1, at: due + 1h, notify: [role:supervisor]}
"""


@pytest.fixture
def staff(api, session, test_clock):
    definitions.publish(session, ERRAND, now=test_clock.now())
    session.commit()
    api.user("nurse", "requester", department="心内科")
    api.user("head", "dept_head", department="心内科")
    api.user("dispatcher", "dispatcher", department="后勤保障部")
    api.user("boss", "supervisor", department="后勤保障部")
    for name in ("tech1", "tech2", "tech3", "tech4"):
        api.user(name, "technician", department="后勤保障部")
    retired = session.exec(select(User).where(User.username == "tech4")).one()
    retired.active = False  # left the hospital: never picked, never told
    session.add(retired)
    session.commit()
    test_clock.set(at("2026-10-12T09:00:00"))
    return api


def give_repairs(api, technician: str, count: int) -> None:
    for _ in range(count):
        order = api.new_order("nurse", "repair", priority="low")
        api.fire("dispatcher", order["id"], "assign", assignee=technician)


def test_a_late_errand_goes_to_the_least_busy_technician_and_the_boss_starts_watching(staff, test_clock):
    give_repairs(staff, "tech1", 1)
    give_repairs(staff, "tech3", 2)
    errand = staff.new_order("nurse", "errand", title="送血样到检验科")
    staff.fire("dispatcher", errand["id"], "dispatch", assignee="tech1")  # tech1 now has 2 open, tech3 2, tech2 0
    test_clock.set(at("2026-10-12T09:10:00"))
    [fired] = sweep(staff, "boss")
    assert fired["level"] == 1
    assert sorted(fired["recipients"]) == ["boss", "dispatcher", "nurse"]  # user:boss, first contact, reporter
    assert fired["actions"] == [{"reassign": "tech2"}, {"watch": ["boss"]}]
    shown = staff.as_("boss").get(f"/api/v1/workorders/{errand['id']}").json()
    assert shown["assignee"] == "tech2" and shown["escalation_level"] == 1
    assignment = [n for n in staff.as_("tech2").get("/api/v1/notifications").json() if n["kind"] == "assignment"]
    assert [n["work_order_id"] for n in assignment] == [errand["id"]]

    test_clock.set(at("2026-10-12T09:20:00"))
    [fired] = sweep(staff, "boss")
    # Watchers (the boss, added by level 1), the requesting department's head, the new assignee.
    assert (fired["level"], sorted(fired["recipients"])) == (2, ["boss", "head", "tech2"])


def test_an_inactive_technician_is_neither_picked_nor_told(staff, test_clock):
    give_repairs(staff, "tech2", 1)
    give_repairs(staff, "tech3", 1)
    errand = staff.new_order("nurse", "errand", title="取药")
    staff.fire("dispatcher", errand["id"], "dispatch", assignee="tech1")  # every active technician has 1 open
    test_clock.set(at("2026-10-12T09:10:00"))
    [fired] = sweep(staff, "boss")
    # A tie among tech1-3 goes to the first; tech1 already has it, so nobody is reassigned. tech4 has none but left.
    assert fired["actions"] == [{"watch": ["boss"]}]


def test_a_timer_past_due_is_marked_breached_even_with_no_rung_at_the_due_time(staff, session, test_clock):
    errand = staff.new_order("nurse", "errand", title="搬运轮椅")
    staff.fire("dispatcher", errand["id"], "dispatch", assignee="tech1")
    staff.fire("tech1", errand["id"], "take")  # delivery due 10:00; its only rung at 11:00
    test_clock.set(at("2026-10-12T10:01:00"))
    assert [f for f in sweep(staff, "boss") if f["timer"] == "delivery"] == []
    timer = session.exec(select(SlaTimer).where(SlaTimer.name == "delivery")).one()
    session.refresh(timer)
    assert timer.breached and timer.level == -1
    assert timer.next_check_at == at("2026-10-12T11:00:00")  # the rung is what is left to look at
    test_clock.set(at("2026-10-12T10:30:00"))
    staff.fire("tech1", errand["id"], "finish")
    session.refresh(timer)
    assert (timer.status, timer.next_check_at) == ("breached", None)


def test_a_rung_fails_whole_and_fires_once_on_the_next_sweep(staff, session, test_clock, monkeypatch):
    errand = staff.new_order("nurse", "errand", title="送标本")
    staff.fire("dispatcher", errand["id"], "dispatch", assignee="tech1")
    test_clock.set(at("2026-10-12T09:10:00"))

    def crash(*args, **kwargs):
        raise RuntimeError("power cut while notifying")

    with monkeypatch.context() as patch:  # the crash comes after the reassignment was already made
        patch.setattr(escalation.Notices, "add", crash)
        assert escalation.sweep(session, test_clock.now()) == []
    shown = staff.as_("boss").get(f"/api/v1/workorders/{errand['id']}").json()
    assert shown["escalations"] == [] and shown["assignee"] == "tech1" and shown["escalation_level"] == 0
    assert [f["level"] for f in sweep(staff, "boss")] == [1]
    assert sweep(staff, "boss") == []
