"""A step reads its work order's timers only where the definition says it may change one
(CompiledProcess.moves_timers): every other step of every shipped process must leave every timer as it was,
as the engine's own timer rules (engine/sla/timers.advance_on) would move it."""
from datetime import datetime, timezone
from pathlib import Path

import pytest

from engine.sla.lateness import LIVE
from engine.sla.timers import advance_on
from engine.storage.models import SlaTimer
from workflows import load_definition
from workflows.machine import CompiledProcess

DEFINITIONS = Path(__file__).resolve().parents[1] / "definitions"
SHIPPED = sorted(path for path in DEFINITIONS.glob("*.yaml")
                 if "states:" in path.read_text(encoding="utf-8"))  # processes, not calendars or schedules
NOW = datetime(2026, 10, 12, 1, 0, tzinfo=timezone.utc)


def _compiled(path: Path) -> CompiledProcess:
    return CompiledProcess(load_definition(path.read_text(encoding="utf-8"), path.name))


def _untouched(cal_needed: list) -> object:
    def cal():
        cal_needed.append(True)
        raise LookupError("the step would change this timer")
    return cal


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.stem)
def test_a_step_said_to_move_no_timer_changes_none(path):
    process = _compiled(path)
    definition = process.definition
    final = definition.final_states()
    quiet = [(event.name, source) for event in definition.events for source in event.from_
             if not process.moves_timers(event.name, source)]
    for event, source in quiet:
        target = process.transition(event, source).target
        for name, spec in definition.sla.items():
            assert target not in spec.start.states and event not in spec.start.events, (path.stem, event, source)
            for status in LIVE:
                if status == "paused" and source not in spec.pause:
                    continue  # a timer is paused only while its work order waits in a pause state
                timer = SlaTimer(work_order_id=1, name=name, calendar="workday", started_at=NOW, due_at=NOW,
                                 status=status, paused_at=NOW if status == "paused" else None)
                needed: list = []
                try:
                    advance_on(_untouched(needed), timer, spec, target, event, target in final, NOW)
                except LookupError:
                    pass
                assert not needed and timer.status == status, (path.stem, event, source, name, status)


def test_the_repair_reads_its_timers_where_they_move_and_where_an_offer_waits():
    process = _compiled(DEFINITIONS / "repair.yaml")
    moving = {(event, source) for event, source in
              [("assign", "reported"), ("accept", "assigned"), ("start", "accepted"), ("hold", "in_progress"),
               ("resume", "on_hold"), ("resolve", "in_progress"), ("confirm", "resolved")]
              if process.moves_timers(event, source)}
    # assign and start touch no timer; accept stops the response, hold and resume pause and resume the
    # resolution, resolve stops it, confirm ends the order; an offer waits in `assigned`, settled by accept.
    assert moving == {("accept", "assigned"), ("hold", "in_progress"), ("resume", "on_hold"),
                      ("resolve", "in_progress"), ("confirm", "resolved")}
    assert process.moves_timers("decline", "assigned")  # settles the offer it answers
