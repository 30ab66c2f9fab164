"""What-if on a small history the live engine made: the version in force replays to what the engine recorded,
and each kind of draft (a target, a calendar, a dispatch rule, an event gone) shows what it would change."""
import re

import pytest
from sqlalchemy import func
from sqlmodel import SQLModel, select

from engine.foresight import drafts
from engine.foresight.simulate import simulate
from engine.published import definitions
from engine.storage.models import Escalation, SlaTimer, WorkOrder
from simulate_support import drive, people as make_people
from workflows import DefinitionError
from workflows.calendars import DEFAULT_PATH


@pytest.fixture
def history(session, make_user):
    end = drive(session, make_people(session, make_user))
    return end


def _repair(session) -> str:
    return definitions.latest(session, "repair").yaml_text


def _run(session, text, end, **options):
    return simulate(session, drafts.read(session, text, "draft.yaml"), now=end, **options)


def _rates(figures) -> dict:
    return {row["timer"]: row["rate"] for row in figures["on_time"]}


def _recorded(session) -> tuple[dict, dict]:
    """What the engine wrote: met/ended per timer and rungs per level."""
    timers = session.exec(select(SlaTimer.name, SlaTimer.status, func.count()).where(~SlaTimer.name.startswith("dispatch:"))
                          .group_by(SlaTimer.name, SlaTimer.status)).all()
    on_time = {}
    for name, status, n in timers:
        met, ended = on_time.get(name, (0, 0))
        on_time[name] = (met + n * (status == "met"), ended + n * (status in ("met", "breached")))
    levels = dict(session.exec(select(Escalation.level, func.count()).group_by(Escalation.level)).all())
    return on_time, levels


def test_the_version_in_force_replays_to_what_the_engine_recorded(session, history):
    result = _run(session, _repair(session), history)
    on_time, levels = _recorded(session)
    for side in ("in_force", "draft"):
        figures = result[side]
        assert {row["timer"]: (row["met"], row["ended"]) for row in figures["on_time"]} == on_time
        assert {row["level"]: row["count"] for row in figures["escalations"]} == levels
        assert figures["orders"] == session.exec(select(func.count()).select_from(WorkOrder)).one()
        assert figures["not_replayable"] == 0
    assert result["changed"] == {"count": 0, "orders": []}
    assert sum(levels.values()) > 0 and 0 < on_time["response"][0] < on_time["response"][1]


def test_a_shorter_urgent_response_target_breaks_urgent_repairs(session, history):
    draft = _repair(session).replace("urgent: {within: 15m, calendar: 24x7}", "urgent: {within: 10m, calendar: 24x7}", 1)
    result = _run(session, draft, history)
    assert _rates(result["draft"])["response"] < _rates(result["in_force"])["response"]
    assert _rates(result["draft"])["resolution"] == _rates(result["in_force"])["resolution"]
    changed = result["changed"]["orders"]
    assert changed and result["changed"]["count"] == len(changed)
    assert all(order["priority"] == "urgent" for order in changed)
    turned = [t for order in changed for t in order["timers"] if t["timer"] == "response"]
    assert any(t["before"] == "met" and t["after"] == "breached" and 1 in t["new_levels"] for t in turned)
    escalated = lambda side: sum(row["count"] for row in result[side]["escalations"] if row["level"] >= 1)  # noqa: E731
    assert escalated("draft") > escalated("in_force")
    told = lambda side: {row["recipient"]: row["count"] for row in result[side]["notifications"]}  # noqa: E731
    assert told("draft")["role:dispatcher"] > told("in_force")["role:dispatcher"]


def test_the_same_seed_gives_the_same_figures_and_nothing_is_written(session, history):
    draft = _repair(session).replace("team: 水电班, strategy: pool}", "team: 空调班, strategy: pool}")
    counts = _table_counts(session)
    first = _run(session, draft, history, seed=3)
    assert _run(session, draft, history, seed=3) == first
    assert _table_counts(session) == counts


def _table_counts(session) -> dict:
    return {table.name: session.exec(select(func.count()).select_from(table)).one()
            for table in SQLModel.metadata.sorted_tables}


def test_plumbing_sent_to_the_slow_team_takes_its_pace(session, history):
    draft = _repair(session).replace("{name: plumbing, when: {category: [plumbing]}, team: 水电班, strategy: pool}",
                                     "{name: plumbing, when: {category: [plumbing]}, team: 空调班, strategy: pool}")
    result = _run(session, draft, history, seed=1)
    teams = lambda side: {row["team"]: row["orders"] for row in result[side]["teams"]}  # noqa: E731
    assert teams("draft")["空调班"] == teams("in_force")["空调班"] + teams("in_force")["水电班"]
    assert "水电班" not in teams("draft")
    assert _rates(result["draft"])["response"] < _rates(result["in_force"])["response"]
    moved = [order for order in result["changed"]["orders"] if order["team_before"] == "水电班"]
    assert moved and all(order["team_after"] == "空调班" for order in moved)
    median = lambda side: result[side]["response"][0]["median_minutes"]  # noqa: E731
    assert median("draft") > median("in_force")
    assert _run(session, draft, history, seed=2) != result  # the draws are the seed's


def test_work_orders_whose_path_the_draft_no_longer_allows_stop_there(session, history):
    draft = re.sub(r"  - name: hold\n(    .*\n)+?    inbox: false.*\n", "", _repair(session), count=1)
    draft = draft.replace("from: [assigned, accepted, in_progress, on_hold]", "from: [assigned, accepted, in_progress]")
    draft = re.sub(r"  - name: resume\n(    .*\n)+?    roles: \[assignee\]\n", "", draft, count=1)
    draft = draft.replace("    pause: [on_hold]\n", "").replace("  on_hold:     {label: {zh: 挂起, en: On hold}}\n", "")
    held = session.exec(select(func.count(func.distinct(WorkOrder.id))).where(WorkOrder.state != "x")
                        .where(WorkOrder.id.in_(_held(session)))).one()
    result = _run(session, draft, history)
    assert held > 0
    assert result["draft"]["not_replayable"] == held and result["in_force"]["not_replayable"] == 0


def _held(session):
    from engine.storage.models import History
    return select(History.work_order_id).where(History.event == "hold")


def test_a_calendars_file_beside_the_one_in_force(session, history):
    same = DEFAULT_PATH.read_text(encoding="utf-8")
    result = _run(session, same, history)
    assert result["subject"] == {"kind": "calendars", "process": None}
    assert result["draft"] == result["in_force"] and result["changed"]["count"] == 0
    # The workday closing at noon: a normal repair's stretches keep their working time, laid out on the mornings.
    shorter = same.replace('mon-fri: ["08:00-17:30"]', 'mon-fri: ["08:00-12:00"]')
    assert _run(session, shorter, history)["draft"]["orders"] == result["in_force"]["orders"]


def test_a_draft_that_cannot_be_simulated_names_its_line(session):
    with pytest.raises(DefinitionError) as refused:
        drafts.read(session, "calendars:\n  24x7:\n    timezone: Asia/Shanghai\n    always_open: true\n", "cal.yaml")
    assert [str(p) for p in refused.value.problems] == [
        "cal.yaml:1:1: calendar 'workday' is used by a published process but not defined here"]
    with pytest.raises(DefinitionError) as refused:
        drafts.read(session, "calendars:\n  workday:\n    timezone: Mars/Olympus\n", "cal.yaml")
    assert refused.value.problems[0].line == 3
    other = _repair(session).replace("key: repair", "key: repair_two")
    with pytest.raises(DefinitionError, match="no published process 'repair_two'"):
        drafts.read(session, other, "two.yaml")
