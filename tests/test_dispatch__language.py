"""`dispatch:` in a definition: checked like the rest of the language, every error at once with line and column."""
from pathlib import Path

import pytest

from language_support import raises_saying
from workflows import DefinitionError, load_definition, load_file

REPAIR = (Path(__file__).resolve().parents[1] / "definitions" / "repair.yaml").read_text(encoding="utf-8")
SHIPPED = REPAIR[REPAIR.index("dispatch:"):REPAIR.index("# What the cockpit")]

BROKEN = """\
dispatch:
  offer: assign
  accept: acept
  claim: resolve
  decline: reopen
  rules:
    - name: lift
      when: {category: [elevator, teleporter], priority: [asap], colour: [red]}
      team: 电梯班
      strategy: offer
      pick: least_loaded
      accept_within: 10 fortnights
    - name: pipes
      when: {category: [plumbing]}
      strategy: pool
      accept_within: 5m
    - name: anything
      strategy: guess
  default: {strategy: manual, when: {priority: [low]}}
"""


def with_dispatch(section: str) -> str:
    return REPAIR.replace(SHIPPED, section + "\n")


def problems(text: str):
    with pytest.raises(DefinitionError) as caught:
        load_definition(text, "repair.yaml")
    return caught.value.problems


def line_of(text: str, needle: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_the_shipped_repair_rules_load_and_name_the_teams_a_hospital_has():
    definition = load_file(Path(__file__).resolve().parents[1] / "definitions" / "repair.yaml", {"24x7", "workday"})
    teams = {rule.team for rule in definition.dispatch.rules}
    assert {"电梯班", "水电班", "空调班", "医用气体班"} <= teams
    assert definition.dispatch.default.strategy == "manual"
    rule = definition.dispatch.choose({"category": "elevator", "priority": "urgent"})[1]
    assert (rule.strategy, rule.team) == ("offer", "电梯班")
    assert definition.dispatch.choose({"category": "plumbing", "priority": "normal"})[1].strategy == "pool"
    assert definition.dispatch.choose({"category": "building", "priority": "urgent"})[1].strategy == "manual"


def test_a_shape_error_in_a_rule_points_at_its_line_and_column():
    text = with_dispatch(BROKEN)
    found = problems(text)
    messages = "\n".join(str(p) for p in found)
    assert f"repair.yaml:{line_of(text, 'accept_within: 10 fortnights')}:" in messages and "is not a duration" in messages
    assert f"repair.yaml:{line_of(text, 'strategy: guess')}:" in messages


def test_every_meaning_error_of_the_dispatch_section_is_reported_at_once_with_its_position():
    text = with_dispatch(BROKEN.replace("10 fortnights", "10m").replace("strategy: guess", "strategy: manual"))
    found = {p.message: (p.line, p.column) for p in problems(text)}
    expected = {
        "dispatch.accept: unknown event 'acept'": line_of(text, "accept: acept"),
        "dispatch.claim: event 'resolve' must name 'on_duty' among its roles": line_of(text, "claim: resolve"),
        "dispatch.decline: event 'reopen' must lead back to 'reported', where routing starts": line_of(text, "decline: reopen"),
        "'teleporter' is not a choice of field 'category'": line_of(text, "teleporter"),
        "unknown priority 'asap'": line_of(text, "asap"),
        "dispatch rule matches on 'colour', which is neither a declared field": line_of(text, "colour"),
        "strategy 'pool' needs a 'team'": line_of(text, "strategy: pool"),
        "'accept_within' applies only to strategy 'offer'": line_of(text, "accept_within: 5m"),
        "strategy 'offer' needs 'dispatch.withdraw'": line_of(text, "dispatch:"),
        "dispatch.default applies when no rule does: it takes no 'when'": line_of(text, "default:"),
    }
    for start, line in expected.items():
        match = [position for message, position in found.items() if message.startswith(start)]
        assert match, f"missing: {start}\n" + "\n".join(found)
        assert match[0][0] == line, (start, match[0], line)
        assert match[0][1] >= 1


def test_pool_without_a_claim_event_is_refused():
    text = with_dispatch("dispatch:\n  rules:\n    - {team: 水电班, strategy: pool}\n")
    assert any("strategy 'pool' needs 'dispatch.claim'" in p.message for p in problems(text))


def test_escalations_may_wake_the_team_lead_and_whoever_is_on_duty():
    text = REPAIR.replace("notify: [role:supervisor, dept_head], raise_priority: true",
                          "notify: [team_lead, on_duty], raise_priority: true")
    assert "team_lead, on_duty" in text
    assert load_definition(text, "repair.yaml").sla["response"].escalation[2].notify == ["team_lead", "on_duty"]


def test_on_duty_is_a_pseudo_role_the_compiled_process_decides_without_a_database():
    from types import SimpleNamespace

    from workflows.machine import CompiledProcess
    from workflows.refusals import NotPermitted

    process = CompiledProcess(load_definition(REPAIR, "repair.yaml"))
    order = SimpleNamespace(id=1, number="RP-1", version=1, state="reported", fields={"category": "plumbing"},
                            assignee_id=None, reporter_id=9, department_id=1, priority="normal", location="", team_id=7)
    on_duty = SimpleNamespace(id=3, roles=frozenset({"technician"}), department_id=None, on_duty=frozenset({7}))
    other_team = SimpleNamespace(id=4, roles=frozenset({"technician"}), department_id=None, on_duty=frozenset({8}))
    request = SimpleNamespace(comment="", assignee=None, fields={}, expected_version=None)
    assert "claim" in [t.name for t in process.available(order, on_duty)]
    assert "claim" not in [t.name for t in process.available(order, other_team)]
    assert process.check(order, on_duty, "claim", request).target == "accepted"
    with raises_saying(NotPermitted, "on_duty"):
        process.check(order, other_team, "claim", request)
    unrouted = SimpleNamespace(**{**vars(order), "team_id": None})
    assert "claim" not in [t.name for t in process.available(unrouted, on_duty)]
