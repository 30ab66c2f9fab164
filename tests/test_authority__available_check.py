"""The compiled process decides what may happen: `available` and `check`, without a database or HTTP.

A small process exercises every rule an event can carry: plain roles, `reporter`,
`assignee`, `role@department`, a guard, required fields, assignee and comment, and
the different-person rule. Work orders and people are plain values here, as the
compiled process only reads them.
"""
from dataclasses import dataclass, field

import pytest

from language_support import english, raises_saying
from workflows import load_definition
from workflows.authority import LastDone
from workflows.conditions import Condition
from workflows.machine import CompiledProcess
from workflows.refusals import (BadInput, GuardFails, NotAllowedNow, NotPermitted, NotVisible, SamePerson,
                                Stale)

TRIAL = """\
key: trial
title: {zh: 试运行, en: Trial}
number_prefix: TR
states:
  asked:    {label: {zh: 已申请, en: Asked}, initial: true}
  approved: {label: {zh: 已批准, en: Approved}}
  assigned: {label: {zh: 已派工, en: Assigned}}
  fixed:    {label: {zh: 已整改, en: Fixed}}
  done:     {label: {zh: 已完成, en: Done}, final: true}
  dropped:  {label: {zh: 已撤销, en: Dropped}, final: true}
fields:
  amount:   {type: number, min: 0}
  measures: {type: text}
  hours:    {type: integer, min: 0}
events:
  - name: approve
    from: asked
    to: approved
    roles: [dept_head@department]
    condition: amount < 1000
  - name: withdraw
    from: [asked, approved]
    to: dropped
    roles: [reporter]
  - name: assign
    from: approved
    to: assigned
    roles: [dispatcher, supervisor]
    assigns: required
  - name: fix
    from: assigned
    to: fixed
    roles: [assignee]
    fields: {measures: required, hours: optional}
  - name: pass
    from: fixed
    to: done
    roles: [inspector]
    distinct_from: [assign, fix]
  - name: fail
    from: fixed
    to: assigned
    roles: [inspector]
    distinct_from: [fix]
    comment: required
"""

PROCESS = CompiledProcess(load_definition(TRIAL, "trial.yaml"))
WARD, OTHER_WARD = 10, 20


@dataclass
class Order:
    state: str
    fields: dict = field(default_factory=lambda: {"amount": 500})
    id: int = 7
    number: str = "TR-2026-000007"
    version: int = 3
    assignee_id: int | None = None
    reporter_id: int | None = 1
    department_id: int | None = WARD
    priority: str = "normal"
    location: str = "5F 512"


@dataclass(frozen=True)
class Person:
    id: int
    roles: frozenset = frozenset()
    department_id: int | None = None


@dataclass
class Input:
    comment: str = ""
    assignee: str | None = None
    fields: dict = field(default_factory=dict)
    expected_version: int | None = None


NURSE = Person(1, frozenset({"requester"}), WARD)
HEAD = Person(2, frozenset({"dept_head"}), WARD)
OTHER_HEAD = Person(3, frozenset({"dept_head"}), OTHER_WARD)
DISPATCHER = Person(4, frozenset({"dispatcher"}))
SUPERVISOR = Person(5, frozenset({"supervisor"}))
TECH = Person(6, frozenset({"technician", "inspector"}))
INSPECTOR = Person(8, frozenset({"inspector"}))
STRANGER = Person(9, frozenset({"requester"}), OTHER_WARD)

FIXED_BY_TECH = {"fix": LastDone(actor_id=TECH.id, sequence=41)}


def names(order, actor, **kwargs) -> list[str]:
    return [t.name for t in PROCESS.available(order, actor, **kwargs)]


# --- who may fire -------------------------------------------------------------------------------

def test_a_plain_role_lets_each_of_its_holders_fire():
    order = Order("approved")
    assert names(order, DISPATCHER) == ["assign"]
    assert names(order, SUPERVISOR) == ["assign"]
    assert PROCESS.check(order, DISPATCHER, "assign", Input(assignee="tech")).target == "assigned"


def test_someone_without_the_role_is_refused_with_who_may():
    with raises_saying(NotPermitted, "'assign' may be done only by: dispatcher, supervisor"):
        PROCESS.check(Order("approved"), TECH, "assign", Input(assignee="tech"))
    assert names(Order("approved"), TECH) == []


def test_only_the_reporter_may_withdraw_their_own_request():
    assert "withdraw" in names(Order("asked"), NURSE)
    assert PROCESS.check(Order("approved"), NURSE, "withdraw", Input()).target == "dropped"
    colleague = Person(11, frozenset({"requester"}), WARD)
    assert "withdraw" not in names(Order("asked"), colleague)
    with raises_saying(NotPermitted, "may be done only by: reporter"):
        PROCESS.check(Order("asked"), colleague, "withdraw", Input())


def test_only_the_current_assignee_may_fix():
    order = Order("assigned", assignee_id=TECH.id)
    assert names(order, TECH) == ["fix"]
    assert PROCESS.check(order, TECH, "fix", Input(fields={"measures": "清理杂物"})).target == "fixed"
    other_tech = Person(12, frozenset({"technician"}))
    assert names(order, other_tech) == []
    with raises_saying(NotPermitted, "may be done only by: assignee"):
        PROCESS.check(order, other_tech, "fix", Input(fields={"measures": "清理杂物"}))


def test_nobody_is_the_assignee_of_an_unassigned_order():
    nobody = Person(0, frozenset({"technician"}))
    order = Order("assigned", assignee_id=None)
    assert names(order, nobody) == []


def test_a_department_head_approves_only_their_own_departments_requests():
    order = Order("asked")
    assert names(order, HEAD) == ["approve"]
    assert PROCESS.check(order, HEAD, "approve", Input()).target == "approved"
    assert names(order, OTHER_HEAD) == []


def test_another_departments_head_learns_approving_is_not_theirs_403_not_404():
    # They cannot see the request, but they hold the role the event names: refused, not hidden.
    with raises_saying(NotPermitted, "'approve' may be done only by: dept_head@department") as refused:
        PROCESS.check(Order("asked"), OTHER_HEAD, "approve", Input(), visible=False)
    assert not isinstance(refused.value, NotVisible)


def test_an_invisible_order_does_not_exist_for_someone_without_the_role():
    with raises_saying(NotVisible, "work order 7 not found"):
        PROCESS.check(Order("asked"), STRANGER, "approve", Input(), visible=False)
    # nor for a role holder asking for an event the state does not have
    with pytest.raises(NotVisible):
        PROCESS.check(Order("asked"), OTHER_HEAD, "pass", Input(), visible=False)


def test_the_system_is_not_bound_by_who_may_fire():
    order = Order("assigned", assignee_id=TECH.id)
    decision = PROCESS.check(order, None, "fix", Input(fields={"measures": "自动记录"}))
    assert decision.target == "fixed" and decision.values == {"measures": "自动记录"}


# --- the different-person rule -------------------------------------------------------------------

def test_whoever_fixed_it_may_not_reinspect_it():
    order = Order("fixed", assignee_id=TECH.id)
    assert names(order, TECH, last_done=FIXED_BY_TECH) == []
    with raises_saying(SamePerson, "'fail' must be done by someone other than who did 'fix'"):
        PROCESS.check(order, TECH, "fail", Input(), last_done=FIXED_BY_TECH)


def test_another_inspector_may_reinspect():
    order = Order("fixed", assignee_id=TECH.id)
    assert names(order, INSPECTOR, last_done=FIXED_BY_TECH) == ["pass", "fail"]
    assert PROCESS.check(order, INSPECTOR, "pass", Input(), last_done=FIXED_BY_TECH).target == "done"


def test_with_several_earlier_events_the_rule_asks_who_did_the_latest_of_them():
    assert PROCESS.remembered("fixed") == {"assign", "fix"}
    order = Order("fixed")
    assigned_then_fixed = {"assign": LastDone(INSPECTOR.id, 10), "fix": LastDone(TECH.id, 41)}
    assert PROCESS.check(order, INSPECTOR, "pass", Input(), last_done=assigned_then_fixed).target == "done"
    reassigned_after_the_fix = {"assign": LastDone(INSPECTOR.id, 50), "fix": LastDone(TECH.id, 41)}
    with raises_saying(SamePerson, "'pass' must be done by someone other than who did 'assign, fix'"):
        PROCESS.check(order, INSPECTOR, "pass", Input(), last_done=reassigned_after_the_fix)
    assert names(order, INSPECTOR, last_done=reassigned_after_the_fix) == ["fail"]


def test_a_rule_that_is_not_told_who_did_it_refuses_to_guess():
    with pytest.raises(ValueError, match="last_done"):
        PROCESS.available(Order("fixed"), INSPECTOR)


def test_the_different_person_rule_comes_after_the_role_check():
    with pytest.raises(NotPermitted) as refused:
        PROCESS.check(Order("fixed"), DISPATCHER, "pass", Input(), last_done={"fix": LastDone(DISPATCHER.id, 1)})
    assert not isinstance(refused.value, SamePerson)


# --- the guard ------------------------------------------------------------------------------------

def test_a_guard_that_holds_lets_the_event_through():
    assert PROCESS.check(Order("asked", fields={"amount": 999}), HEAD, "approve", Input()).target == "approved"


def test_a_guard_that_fails_hides_the_button_and_refuses_with_the_condition():
    order = Order("asked", fields={"amount": 1000})
    assert names(order, HEAD) == []
    with raises_saying(GuardFails, "condition 'amount < 1000' does not hold for this work order"):
        PROCESS.check(order, HEAD, "approve", Input())


def test_a_guard_on_a_missing_value_does_not_hold():
    with pytest.raises(GuardFails):
        PROCESS.check(Order("asked", fields={}), HEAD, "approve", Input())


def test_a_guard_is_evaluated_once_per_check(monkeypatch):
    calls = []
    holds = Condition.holds
    monkeypatch.setattr(Condition, "holds", lambda self, values: calls.append(self.source) or holds(self, values))
    PROCESS.check(Order("asked"), HEAD, "approve", Input())
    assert calls == ["amount < 1000"]
    calls.clear()
    PROCESS.available(Order("asked"), HEAD)
    assert calls == ["amount < 1000"]


# --- what an event takes ------------------------------------------------------------------------

def test_required_fields_are_named_each_with_its_problem():
    order = Order("assigned", assignee_id=TECH.id)
    with pytest.raises(BadInput) as refused:
        PROCESS.check(order, TECH, "fix", Input(fields={"hours": -1, "amount": 5}))
    assert [(e["field"], english(e)) for e in refused.value.errors] == [
        ("fields.amount", "'amount' cannot be set here; allowed: hours, measures"),
        ("fields.measures", "measures is required"),
        ("fields.hours", "hours must be at least 0"),
    ]


def test_values_come_back_in_their_stored_form():
    order = Order("assigned", assignee_id=TECH.id)
    decision = PROCESS.check(order, TECH, "fix", Input(fields={"measures": "更换阀门", "hours": 2.0}))
    assert decision.values == {"measures": "更换阀门", "hours": 2} and isinstance(decision.values["hours"], int)


def test_an_assigning_event_needs_an_assignee_found_by_the_caller():
    people = {"tech": TECH}
    with raises_saying(BadInput, "'assign' needs the username of the new assignee in 'assignee'"):
        PROCESS.check(Order("approved"), DISPATCHER, "assign", Input(), find_assignee=people.get)
    with raises_saying(BadInput, "no active user named 'ghost'") as refused:
        PROCESS.check(Order("approved"), DISPATCHER, "assign", Input(assignee="ghost"), find_assignee=people.get)
    assert [(e["field"], english(e)) for e in refused.value.errors] == [("assignee", "no active user named 'ghost'")]
    decision = PROCESS.check(Order("approved"), DISPATCHER, "assign", Input(assignee="tech"), find_assignee=people.get)
    assert decision.assignee is TECH


def test_an_event_that_does_not_assign_refuses_an_assignee():
    with raises_saying(BadInput, "'withdraw' does not take an assignee"):
        PROCESS.check(Order("asked"), NURSE, "withdraw", Input(assignee="tech"))


def test_a_required_comment_must_say_something():
    order = Order("fixed")
    with raises_saying(BadInput, "'fail' needs a comment giving the reason"):
        PROCESS.check(order, INSPECTOR, "fail", Input(comment="   "), last_done=FIXED_BY_TECH)
    assert PROCESS.check(order, INSPECTOR, "fail", Input(comment="仍有纸箱"), last_done=FIXED_BY_TECH).target == "assigned"


def test_a_comment_longer_than_5000_characters_is_refused():
    with raises_saying(BadInput, "comment must be at most 5000 characters"):
        PROCESS.check(Order("asked"), NURSE, "withdraw", Input(comment="长" * 5001))


def test_fields_assignee_and_comment_problems_come_together():
    with pytest.raises(BadInput) as refused:
        PROCESS.check(Order("approved"), DISPATCHER, "assign", Input(fields={"amount": 3}), find_assignee={}.get)
    assert [e["field"] for e in refused.value.errors] == ["fields.amount", "assignee"]


# --- the order of the checks -----------------------------------------------------------------------

def test_a_stale_version_is_refused_before_anything_about_the_event():
    order = Order("asked", version=4)
    with raises_saying(Stale, r"TR-2026-000007 was changed by someone else \(now version 4, you had 3\)"):
        PROCESS.check(order, STRANGER, "no_such_event", Input(expected_version=3))


def test_an_event_not_allowed_now_names_what_is():
    with raises_saying(NotAllowedNow, "event 'pass' is not allowed in state 'asked'; allowed now: approve, withdraw"):
        PROCESS.check(Order("asked"), INSPECTOR, "pass", Input())
    with raises_saying(NotAllowedNow, "process 'trial' has no event 'teleport'; allowed now: approve, withdraw"):
        PROCESS.check(Order("asked"), INSPECTOR, "teleport", Input())
    with raises_saying(NotAllowedNow, "allowed now: none"):
        PROCESS.check(Order("done"), INSPECTOR, "pass", Input())


def test_the_role_is_checked_before_the_input_and_the_input_before_the_guard():
    order = Order("asked", fields={"amount": 5000})
    with pytest.raises(NotPermitted):
        PROCESS.check(order, DISPATCHER, "approve", Input(assignee="x"))
    with pytest.raises(BadInput):
        PROCESS.check(order, HEAD, "approve", Input(assignee="x"))
    with pytest.raises(GuardFails):
        PROCESS.check(order, HEAD, "approve", Input())


def test_the_guard_sees_the_values_the_event_brings():
    lenient = CompiledProcess(load_definition(TRIAL.replace("    roles: [dept_head@department]\n",
                                                            "    roles: [dept_head@department]\n"
                                                            "    fields: {amount: optional}\n"), "trial.yaml"))
    order = Order("asked", fields={"amount": 5000})
    assert lenient.check(order, HEAD, "approve", Input(fields={"amount": 800})).values == {"amount": 800}
    assert [t.name for t in lenient.available(order, HEAD)] == []  # judged on what is stored


def test_the_destination_comes_from_the_machine_table():
    assert {(t.name, t.source, t.target) for t in PROCESS.transitions_from("approved")} == {
        ("withdraw", "approved", "dropped"), ("assign", "approved", "assigned")}
    assert PROCESS.machine.get_transitions("assign", "approved")[0].dest == "assigned"
