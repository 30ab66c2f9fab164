"""Definitions that would stall the service, or publish and then fail to run, written as the attacks.

Each is refused with a clear message at its line, promptly, and without holding up anybody
else's request: YAML aliases of aliases (a few hundred bytes standing for billions of values),
deep nesting, oversized texts, spans of time and rung shares the engine could never honour,
conditions nested past any use, a feedback event that a timer would fire for ever, and labels
that try to write their own lines into the diagram.
"""
import re
import threading
import time
import tracemalloc
from pathlib import Path

import pytest

from web.cli import main
from workflows import BeyondLimits, DefinitionError, load_definition
from workflows.calendars import CalendarError, load_calendars
from workflows.schedules import load_schedule

DEFINITIONS = Path(__file__).resolve().parents[1] / "definitions"
REPAIR = (DEFINITIONS / "repair.yaml").read_text(encoding="utf-8")
YAML = {"Content-Type": "application/yaml"}

# The classic "billion laughs": 331 bytes standing for 9**9 values once every alias is copied.
BOMB = "a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n" + "".join(
    f"{name}: &{name} [{', '.join(['*' + previous] * 9)}]\n" for previous, name in zip("abcdefgh", "bcdefghi"))


def line_of(text: str, fragment: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if fragment in line)


def problems_of(text: str, file: str = "attack.yaml") -> list:
    with pytest.raises(DefinitionError) as caught:
        load_definition(text, file, {"24x7", "workday"})
    return caught.value.problems


def repair_with(old: str, new: str) -> str:
    assert old in REPAIR, old
    return REPAIR.replace(old, new, 1)


@pytest.fixture
def people(api):
    api.user("designer", "designer")
    api.user("admin", "admin")
    api.user("nurse", "requester", department="心内科")
    return api


# --- stalling everyone: aliases, nesting, size ---------------------------------------------------

def test_an_alias_bomb_is_refused_in_milliseconds_and_small_memory():
    tracemalloc.start()
    started = time.monotonic()
    try:
        [problem] = problems_of(BOMB)
        took = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert took < 0.5 and peak < 20_000_000
    assert "more than 100000 values" in problem.message and "alias" in problem.message
    assert "*" in BOMB.splitlines()[problem.line - 1]  # at the alias that passes the bound


@pytest.mark.parametrize("url", ["/api/v1/processes/validate", "/api/v1/processes"])
def test_an_alias_bomb_is_answered_at_once_while_another_request_is_served(people, url):
    answers = {}

    def attack():
        started = time.monotonic()
        answers["bomb"] = people.as_("designer").post(url, content=BOMB.encode(), headers=YAML)
        answers["bomb_took"] = time.monotonic() - started

    attacker = threading.Thread(target=attack)
    attacker.start()
    started = time.monotonic()
    me = people.as_("nurse").get("/api/v1/me")
    me_took = time.monotonic() - started
    attacker.join(timeout=30)
    assert not attacker.is_alive(), "the alias bomb is still being expanded"
    assert me.status_code == 200 and me_took < 1.0
    bomb = answers["bomb"]
    assert bomb.status_code == 422 and answers["bomb_took"] < 1.0, bomb.text
    [error] = bomb.json()["errors"]
    assert "more than 100000 values" in error["message"] and "*" in BOMB.splitlines()[error["line"] - 1]
    shipped = {"repair", "procurement", "hazard", "complaint", "maintenance"}
    assert {p["key"]: p["version"] for p in people.as_("designer").get("/api/v1/processes").json()} == \
        dict.fromkeys(shipped, 1)  # nothing published


@pytest.mark.parametrize("route, replaced, refusal", [
    ("/api/v1/processes/validate", "parse", 200),
    ("/api/v1/processes", "publish", 422),
])
def test_checking_and_publishing_leave_the_event_loop_free(people, monkeypatch, route, replaced, refusal):
    """While a definition is being read, other requests are answered: the reading is not on the event loop."""
    from engine.published import definitions
    from workflows import Problem

    entered, released, outcome = threading.Event(), threading.Event(), {}

    def slow(*args, **kwargs):  # stands for a long parse: it holds on until the test has been served
        entered.set()
        outcome["waited"] = released.wait(timeout=10)
        raise DefinitionError([Problem("<upload>", 1, 1, "stands for a slow check")])

    monkeypatch.setattr(definitions, replaced, slow)
    answers = {}
    checker = threading.Thread(target=lambda: answers.setdefault(
        "check", people.as_("designer").post(route, content=b"key: slow\n", headers=YAML)))
    checker.start()
    assert entered.wait(timeout=10)
    me = people.as_("nurse").get("/api/v1/me")  # served while the check is still being held
    released.set()
    checker.join(timeout=10)
    assert me.status_code == 200
    assert outcome["waited"] is True, "/api/v1/me waited for the check to finish"
    assert answers["check"].status_code == refusal


@pytest.mark.parametrize("text, where", [
    ("key: " + "[" * 100_000, (1, 38)),
    ("key: " + "{a: " * 20_000, (1, 127)),
    ("".join(" " * (2 * depth) + f"k{depth}:\n" for depth in range(40)) + " " * 80 + "x: 1\n", (32, 63)),
    ("- " * 5_000 + "x\n", (1, 65)),
])
def test_deep_nesting_is_refused_at_its_line(text, where):
    started = time.monotonic()
    [problem] = problems_of(text)
    assert time.monotonic() - started < 0.5
    assert "nested more than 32 levels deep" in problem.message
    assert (problem.line, problem.column) == where


def test_deep_nesting_posted_is_a_422_with_its_line(people):
    response = people.as_("designer").post("/api/v1/processes/validate", content=("states: " + "[" * 50_000).encode(),
                                           headers=YAML)
    assert response.status_code == 422
    assert response.json()["errors"][0]["line"] == 1
    assert "nested more than 32 levels deep" in response.json()["errors"][0]["message"]


def test_an_alias_inside_what_it_names_is_refused():
    [problem] = problems_of("key: x\nstates: &s {a: *s}\n")
    assert (problem.line, problem.column) == (2, 16) and "inside the value it names" in problem.message


def test_an_oversize_definition_is_refused_naming_the_limit(people):
    padding = "".join(f"# {'padding ' * 12}{number}\n" for number in range(3_000))
    text = REPAIR + padding
    assert len(text.encode()) > 256 * 1024
    # Over HTTP the body is refused before it is read (web.limits), by the language's own limit ...
    response = people.as_("designer").post("/api/v1/processes", content=text.encode(), headers=YAML)
    assert response.status_code == 413
    assert "larger than the limit of 256 KB" in response.json()["detail"]
    versions = people.as_("designer").get("/api/v1/processes/repair").json()["versions"]
    assert [v["version"] for v in versions] == [1]
    # ... which a file read by the command line meets at its line.
    [problem] = problems_of(text)
    assert "larger than 256 KB (262144 bytes)" in problem.message
    assert problem.line == len(text.encode()[:256 * 1024].decode(errors="ignore").splitlines())


def test_calendars_and_schedules_are_read_within_the_same_bounds():
    with pytest.raises(CalendarError, match=r"<calendars>:\d+:\d+: the document holds more than 100000 values"):
        load_calendars(text="calendars:\n  x:\n    " + BOMB.replace("\n", "\n    "))
    with pytest.raises(BeyondLimits) as caught:
        load_schedule("rules:\n" + "  " + "[" * 1_000 + "\n", "schedules.yaml")
    assert "nested more than 32 levels deep" in caught.value.problems[0].message


def test_the_cli_prints_each_problem_without_a_traceback(tmp_path, capsys):
    files = {"bomb.yaml": BOMB, "deep.yaml": "key: " + "[" * 10_000 + "\n",
             "huge.yaml": "key: x\n" + "# padding\n" * 100_000}
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    assert main(["definitions", "validate", *(str(tmp_path / name) for name in files)]) == 1
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert re.search(r"bomb\.yaml:\d+:\d+: the document holds more than 100000 values", out)
    assert re.search(r"deep\.yaml:1:\d+: the values are nested more than 32 levels deep", out)
    assert re.search(r"huge\.yaml:\d+:\d+: the text is larger than 256 KB", out)


# --- definitions that publish but cannot run ------------------------------------------------------

RESPONSE_URGENT = "      urgent: {within: 15m, calendar: 24x7}"
WARNING_RUNG = "      - {level: 0, at: 80%, notify: [assignee, role:dispatcher]}"
LATE_RUNG = "      - {level: 2, at: due + 30m, notify: [role:supervisor, dept_head], raise_priority: true}"


@pytest.mark.parametrize("old, new, message", [
    (RESPONSE_URGENT, "      urgent: {within: 99999999999m, calendar: 24x7}", "longest span of time a definition may name is 366 days"),
    (RESPONSE_URGENT, "      urgent: {within: 1" + "0" * 400 + "d, calendar: 24x7}", "366 days"),
    (RESPONSE_URGENT, "      urgent: {within: 99999999999, calendar: 24x7}", "366 days"),
    (RESPONSE_URGENT, "      urgent: {within: .inf, calendar: 24x7}", "is not a duration"),
    (RESPONSE_URGENT, "      urgent: {within: -15, calendar: 24x7}", "is not a duration"),
    (RESPONSE_URGENT, "      urgent: {within: 0m, calendar: 24x7}", "an SLA target must be longer than zero"),
    (WARNING_RUNG, WARNING_RUNG.replace("80%", "nan%"), "more than 0% and at most 1000%"),
    (WARNING_RUNG, WARNING_RUNG.replace("80%", "inf%"), "more than 0% and at most 1000%"),
    (WARNING_RUNG, WARNING_RUNG.replace("80%", "-100%"), "more than 0% and at most 1000%"),
    (WARNING_RUNG, WARNING_RUNG.replace("80%", "1e300%"), "more than 0% and at most 1000%"),
    (WARNING_RUNG, WARNING_RUNG.replace("80%", "0%"), "more than 0% and at most 1000%"),
    (WARNING_RUNG, WARNING_RUNG.replace("80%", "1001%"), "more than 0% and at most 1000%"),
    (WARNING_RUNG, WARNING_RUNG.replace("80%", ".nan"), "must be text"),
    (LATE_RUNG, LATE_RUNG.replace("due + 30m", "due + 99999999999m"), "366 days"),
    (LATE_RUNG, LATE_RUNG.replace("due + 30m", "due - 400d"), "366 days"),
    (LATE_RUNG, LATE_RUNG.replace("level: 2", "level: 99999999999"), "must be at most 99"),
])
def test_each_extreme_sla_value_is_refused_at_its_line(people, old, new, message):
    text = repair_with(old, new)
    response = people.as_("designer").post("/api/v1/processes", content=text.encode(), headers=YAML)
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert [e["line"] for e in errors if message in e["message"]] == [line_of(text, new.strip())], errors


@pytest.mark.parametrize("at", ["150%", "1000%", "0.5%", "due - 366d"])
def test_honest_rungs_past_the_due_time_still_publish(people, at):
    text = repair_with(WARNING_RUNG, WARNING_RUNG.replace("80%", at))
    assert people.as_("designer").post("/api/v1/processes", content=text.encode(), headers=YAML).status_code == 201


@pytest.mark.parametrize("condition, message", [
    ("amount == " + "[" * 150 + "1" + "]" * 150, "nests 152 levels deep; at most 20"),
    ("-" * 900 + "1 == amount", "levels deep; at most 20"),
    ("not " * 300 + "amount", "at most 1000 are allowed"),
    ("amount == " + "(" * 600 + "1" + ")" * 600, "at most 1000 are allowed"),
    ("amount == " + "9" * 5_000, "at most 1000 are allowed"),
    ("amount == " + "(" * 210 + "1" + ")" * 210, "too many nested parentheses"),
])
def test_a_deep_condition_is_a_problem_at_its_line_never_a_crash(condition, message):
    procurement = (DEFINITIONS / "procurement.yaml").read_text(encoding="utf-8")
    text = procurement.replace("condition: amount >= 50000", f"condition: '{condition}'", 1)
    problems = problems_of(text)
    assert [p.line for p in problems if message in p.message] == [line_of(text, condition[:40])], problems


FEEDBACK_TO = "    from: resolved\n    to: closed\n"


def test_a_feedback_event_that_auto_confirm_would_fire_into_its_own_state_is_refused(people):
    text = repair_with(FEEDBACK_TO, "    from: resolved\n    to: resolved\n")
    response = people.as_("designer").post("/api/v1/processes", content=text.encode(), headers=YAML)
    assert response.status_code == 422
    loops = [e for e in response.json()["errors"] if "for ever" in e["message"]]
    assert [e["line"] for e in loops] == [line_of(text, "auto_confirm: {after: 3d")]
    assert "'confirm' must lead out of the feedback state" in loops[0]["message"]


@pytest.mark.parametrize("after", ["0m", "0d", "0"])
def test_a_zero_auto_confirm_wait_is_refused(after):
    text = repair_with("auto_confirm: {after: 3d", f"auto_confirm: {{after: {after}")
    [problem] = problems_of(text)
    assert problem.line == line_of(text, "auto_confirm:") and "auto_confirm.after must be longer than zero" in problem.message


@pytest.mark.parametrize("old, new, message", [
    ("    type: integer\n    label: {zh: 工时（分钟）, en: Labour (minutes)}\n    min: 0\n",
     "    type: integer\n    label: {zh: 工时（分钟）, en: Labour (minutes)}\n    min: .nan\n", "finite number"),
    ("    type: integer\n    label: {zh: 工时（分钟）, en: Labour (minutes)}\n    min: 0\n",
     "    type: integer\n    label: {zh: 工时（分钟）, en: Labour (minutes)}\n    min: -.inf\n", "finite number"),
    ("    type: integer\n    label: {zh: 工时（分钟）, en: Labour (minutes)}\n    min: 0\n",
     "    type: integer\n    label: {zh: 工时（分钟）, en: Labour (minutes)}\n    min: 10\n    max: 1\n", "min (10) is more than max (1)"),
    ("      accept_within: 5m\n", "      accept_within: 9999w\n", "is not a duration"),
    ("      accept_within: 5m\n", "      accept_within: 367d\n", "366 days"),
    ("version: 1\n", "version: 99999999999999999999\n", "less than or equal to 1000000"),
])
def test_other_numbers_are_bounded_too(old, new, message):
    problems = problems_of(repair_with(old, new))
    assert any(message in p.message for p in problems), problems


@pytest.mark.parametrize("every, message", [
    ("0.1m", "at least 1m"), ("9999w", "366 days"), ("0m", "longer than zero"),
])
def test_a_schedule_interval_is_bounded(every, message):
    text = ("rules:\n  - name: rounds\n    process: repair\n    title: x\n"
            f"    every: {every}\n    starting: 2026-01-01T06:00\n")
    with pytest.raises(DefinitionError) as caught:
        load_schedule(text, "schedules.yaml")
    [problem] = caught.value.problems
    assert problem.line == 5 and message in problem.message


def test_a_calendar_year_is_a_year():
    text = ("calendars:\n  desk:\n    timezone: Asia/Shanghai\n    hours: {mon-fri: ['08:00-17:00']}\n"
            "    known_years: [99999999999]\n")
    with pytest.raises(CalendarError, match="<calendars>:5:5: calendar 'desk': known_years must be a list of years"):
        load_calendars(text=text)


# --- who may check ----------------------------------------------------------------------------------

def test_only_designers_and_admins_may_check_a_definition(people):
    body = {"content": REPAIR.encode(), "headers": YAML}
    assert people.client.post("/api/v1/processes/validate", **body).status_code == 401
    refused = people.as_("nurse").post("/api/v1/processes/validate", **body)
    assert refused.status_code == 403 and "designer" in refused.json()["detail"]
    for who in ("designer", "admin"):
        checked = people.as_(who).post("/api/v1/processes/validate", **body)
        assert checked.status_code == 200 and checked.json()["valid"] is True


# --- the diagram ------------------------------------------------------------------------------------

INJECTED_STATE = 'on_hold:     {label: {zh: "暂停\\"]; click on_hold call alert(1)\\n%%{init: {\'theme\': \'dark\'}}%%", en: On hold}}'
INJECTED_EVENT = 'label: {zh: "恢复维修\\n  on_hold --> closed: sneaky\\n  state \\"<img src=x>\\" as pwn", en: Resume}'


def test_labels_are_escaped_and_cannot_add_lines_to_the_diagram(people):
    text = (repair_with("on_hold:     {label: {zh: 挂起, en: On hold}}", INJECTED_STATE)
            .replace("label: {zh: 恢复维修, en: Resume}", INJECTED_EVENT, 1))
    text = text.replace("title: {zh: 报修, en: Repair}", 'title: {zh: "报修\\n---\\nconfig: {theme: dark}", en: Repair}', 1)
    checked = people.as_("designer").post("/api/v1/processes/validate", content=text.encode(), headers=YAML).json()
    assert checked["valid"] is True, checked
    diagram = checked["diagram"]
    lines = [line.strip() for line in diagram.splitlines()]
    # The title is one quoted YAML scalar in the front matter: no new front-matter key can be made.
    assert lines[:4] == ["---", '"报修 --- config: {theme: dark}"', "---", "stateDiagram-v2"]
    assert ('state "暂停#quot;#93;#59; click on_hold call alert#40;1#41; #37;#37;#123;init#58; '
            "#123;'theme'#58; 'dark'#125;#125;#37;#37;\" as on_hold") in lines
    assert "on_hold --> in_progress: 恢复维修   on_hold --#gt; closed#58; sneaky   state #quot;#lt;img src=x#gt;#quot; as pwn" in lines
    # Exactly the transitions the definition declares, each on its own line, and nothing else drawn.
    definition = load_definition(REPAIR)
    declared = {(source, event.to) for event in definition.events for source in event.from_}
    drawn = {tuple(line.split(":")[0].split(" --> ")) for line in lines if " --> " in line and not line.startswith("[*]")}
    assert drawn == declared
    assert sum(line.startswith("state ") for line in lines) == len(definition.states)
    assert not any(line.startswith(("click", "%%", "config")) for line in lines)
    assert "<" not in diagram and "%%" not in diagram


@pytest.mark.parametrize("old, new, message", [
    ("  on_hold:     {label:", "  On-Hold:     {label:", "state name 'On-Hold' must be lower_snake_case"),
    ("  on_hold:     {label:", "  暂停:     {label:", "state name '暂停' must be lower_snake_case"),
    ("  on_hold:     {label:", '  "on_hold\\"] --> x":     {label:', "must be lower_snake_case"),
    ("  - name: resume\n", f"  - name: {'r' * 49}\n", "at most 48 characters"),
])
def test_state_and_event_names_are_identifiers(old, new, message):
    problems = problems_of(repair_with(old, new))
    assert any(message in p.message and p.line == line_of(repair_with(old, new), new.strip()[:10]) for p in problems), problems
