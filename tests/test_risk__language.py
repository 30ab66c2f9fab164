"""The at-risk words of the definition language: a timer's `at_risk` threshold and a rung `at: risk 0.6`."""
from pathlib import Path

import pytest

from workflows import DefinitionError, load_definition
from workflows.schema import DEFAULT_AT_RISK

REPAIR = (Path(__file__).resolve().parents[1] / "definitions" / "repair.yaml").read_text(encoding="utf-8")
RESPONSE_RUNG = "      - {level: 4, at: risk 0.7, notify: [role:supervisor]}\n"


def _load(text: str):
    return load_definition(text, "repair.yaml", {"24x7", "workday"})


def _problems(text: str) -> list:
    with pytest.raises(DefinitionError) as caught:
        _load(text)
    return caught.value.problems


def _line_of(text: str, fragment: str) -> int:
    return text[:text.index(fragment)].count("\n") + 1


def test_the_shipped_repair_warns_the_supervisor_on_a_risk_and_lists_at_sixty_percent():
    definition = _load(REPAIR)
    response, resolution = definition.sla["response"], definition.sla["resolution"]
    assert [(step.level, step.time.risk, step.notify) for step in response.risk_rungs] == [(4, 0.7, ["role:supervisor"])]
    assert response.risk_threshold == 0.6
    assert resolution.at_risk is None and resolution.risk_threshold == DEFAULT_AT_RISK == 0.6
    assert [step.level for step in resolution.risk_rungs] == [3]


@pytest.mark.parametrize("written, says", [
    ("risk 1.5", "is not a probability"), ("risk 0", "is not a probability"), ("risk nan", "is not a probability"),
    ("risk", "says no probability"), ("risk -0.2", "is not a probability"),
])
def test_a_rung_at_a_risk_that_is_no_probability_is_refused_at_its_line(written, says):
    text = REPAIR.replace(RESPONSE_RUNG, RESPONSE_RUNG.replace("risk 0.7", written))
    [problem] = _problems(text)
    assert problem.line == _line_of(text, f"at: {written},")
    assert says in problem.message and "risk 0.6" in problem.message


@pytest.mark.parametrize("value", ["1.5", "0", "1", "-0.1"])
def test_an_at_risk_threshold_outside_zero_to_one_is_refused_at_its_line(value):
    text = REPAIR.replace("    at_risk: 0.6 ", f"    at_risk: {value} ")
    [problem] = _problems(text)
    assert problem.line == _line_of(text, f"at_risk: {value}")
    assert "between 0 and 1" in problem.message


def test_a_rung_at_a_risk_may_warn_but_not_raise_the_priority_or_reassign():
    text = REPAIR.replace(RESPONSE_RUNG, RESPONSE_RUNG.replace("notify: [role:supervisor]",
                                                               "notify: [role:supervisor], raise_priority: true"))
    [problem] = _problems(text)
    assert problem.line == _line_of(text, "at: risk 0.7, notify: [role:supervisor], raise")
    assert "not raise_priority" in problem.message


def test_levels_stay_distinct_with_rungs_at_a_risk():
    text = REPAIR.replace(RESPONSE_RUNG, RESPONSE_RUNG.replace("level: 4", "level: 3"))
    assert any("levels must be distinct" in p.message for p in _problems(text))
