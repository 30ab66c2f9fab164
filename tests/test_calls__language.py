"""`calls:` in a definition: which work orders the desk calls back (回访), each wrong value refused at its line."""
from pathlib import Path

import pytest

from workflows import DefinitionError, load_definition, load_file
from workflows.calls import bucket, call_state

DEFINITIONS = Path(__file__).resolve().parents[1] / "definitions"
REPAIR = (DEFINITIONS / "repair.yaml").read_text(encoding="utf-8")
SHIPPED = """calls:
  by: [dispatcher]
  all: [urgent, high]
  sample: 20%
  within: 3d
"""


def with_calls(section: str, text: str = REPAIR) -> str:
    assert SHIPPED in text
    return text.replace(SHIPPED, section)


def problems(text: str) -> list[tuple[int, str]]:
    with pytest.raises(DefinitionError) as caught:
        load_definition(text, "repair.yaml")
    return [(problem.line, problem.message) for problem in caught.value.problems]


def line_of(text: str, needle: str) -> int:
    return text[:text.rindex(needle)].count("\n") + 1  # the last: the calls section comes after the timers


def test_the_shipped_processes_call_back_closed_repairs_and_requests_and_replied_complaints():
    states = {key: call_state(load_file(DEFINITIONS / f"{key}.yaml")) for key in ("repair", "procurement", "complaint")}
    assert states == {"repair": "closed", "procurement": "closed", "complaint": "replied"}
    repair = load_file(DEFINITIONS / "repair.yaml").calls
    assert repair.picked("RP-2026-000001", "urgent") and repair.picked("RP-2026-000001", "high")
    assert not repair.picked("RP-2026-000001", "normal")


def test_the_sample_is_picked_from_the_number_the_same_on_every_machine():
    # Pinned: another hash would pick other work orders than those already in the queue.
    assert [bucket(f"RP-2026-{n:06d}") for n in (1, 2, 3)] == [7676, 829, 9458]
    numbers = [f"RP-2026-{n:06d}" for n in range(1, 2001)]
    share = sum(bucket(number) < 2000 for number in numbers) / len(numbers)
    assert 0.17 < share < 0.23  # about a fifth of them


@pytest.mark.parametrize("section, needle, message", [
    ("calls:\n  by: [dispatcher]\n  sample: 0.2\n", "sample", "'0.2' is not a share: write a percentage"),
    ("calls:\n  by: [dispatcher]\n  sample: 120%\n", "sample", "'120%' is not a share"),
    ("calls:\n  by: [dispatcher]\n  all: [urgent, urgnet]\n", "urgnet", "calls.all: 'urgnet' is not a priority"),
    ("calls:\n  by: [wizard]\n  sample: 5%\n", "wizard", "calls.by: unknown role 'wizard'"),
    ("calls:\n  by: [reporter]\n  sample: 5%\n", "reporter]", "calls.by: unknown role 'reporter'"),
    ("calls:\n  by: []\n  sample: 5%\n", "by: []", "calls.by names nobody"),
    ("calls:\n  by: [dispatcher]\n  sample: 5%\n  within: soon\n", "within: soon", "'soon' is not a duration"),
    ("calls:\n  by: [dispatcher]\n  sample: 5%\n  within: 0d\n", "within: 0d", "calls.within must be longer than zero"),
    ("calls:\n  by: [dispatcher]\n", "calls:", "nobody would be called"),
    ("calls:\n  by: [dispatcher]\n  sample: 5%\n  state: in_progress\n", "state: in_progress",
     "calls.state 'in_progress' is neither a final state"),
    ("calls:\n  by: [dispatcher]\n  sample: 5%\n  state: closd\n", "state: closd", "calls.state: unknown state 'closd'"),
    ("calls:\n  by: [dispatcher]\n  sample: 5%\n  smaple: 5%\n", "smaple", "unknown key 'smaple'"),
])
def test_a_wrong_calls_section_is_refused_at_its_line(section, needle, message):
    text = with_calls(section)
    found = problems(text)
    assert any(message in said for _, said in found), found
    assert [line for line, said in found if message in said] == [line_of(text, needle)]


def test_a_call_that_gives_the_verdict_has_no_deadline_after_closing():
    text = (DEFINITIONS / "complaint.yaml").read_text(encoding="utf-8") + "  within: 3d\n"
    [(line, message)] = problems(text)
    assert line == line_of(text, "within: 3d") and "'replied' is not a final state" in message


def test_a_process_without_feedback_says_whose_work_orders_are_called():
    text = (DEFINITIONS / "hazard.yaml").read_text(encoding="utf-8") + "calls:\n  by: [inspector]\n  sample: 10%\n"
    [(line, message)] = problems(text)
    assert line == line_of(text, "calls:") and "say whose work orders are called with 'state'" in message
    assert load_definition(text + "  state: closed_out\n").calls.state == "closed_out"
