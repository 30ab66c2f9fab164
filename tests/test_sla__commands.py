"""`houqin sweep` for cron and `houqin worker`: what an administrator sees on the terminal."""
import threading

import pytest

from engine.sla import escalation
from sla_support import at
from web import worker
from web.cli import main


@pytest.fixture
def late_repair(api, test_clock):
    api.user("nurse", "requester", department="心内科")
    api.user("dispatcher", "dispatcher", department="后勤保障部")
    api.user("tech", "technician", department="后勤保障部")
    test_clock.set(at("2026-10-12T09:00:00"))
    order = api.new_order("nurse", priority="urgent", title="电梯困人")
    api.fire("dispatcher", order["id"], "assign", assignee="tech")
    test_clock.set(at("2026-10-12T09:15:00"))
    return order


def test_houqin_sweep_fires_what_is_due_and_says_so(late_repair, db_url, capsys, test_clock):
    assert main(["sweep", "--db", db_url], clock=test_clock) == 0
    out = capsys.readouterr().out
    assert f"{late_repair['number']} response level 0: " in out
    assert f"{late_repair['number']} response level 1: " in out
    assert "2 escalations, 0 auto-confirmed" in out and "outbox: 0 sent, 0 to retry, 0 failed" in out
    assert main(["sweep", "--db", db_url], clock=test_clock) == 0
    assert "0 escalations" in capsys.readouterr().out  # run again by cron a minute later: nothing twice


def test_the_worker_loop_runs_a_round_and_stops_when_told(late_repair, monkeypatch, test_clock):
    stop = threading.Event()
    rounds = []
    loop = worker.Worker(clock=test_clock)

    def one_round():
        rounds.append(loop.sweep_once())
        stop.set()  # as SIGTERM or the app's shutdown would
        return worker.Round(fired=rounds[-1], report=loop.deliver_once())

    monkeypatch.setattr(loop, "tick", one_round)
    loop.run(interval=3600, stop=stop)  # returns at once: the stop event is already set
    assert [[(f.timer, f.level) for f in fired] for fired in rounds] == [[("response", 0), ("response", 1)]]


def test_a_worker_interval_must_be_positive(capsys):
    assert main(["worker", "--interval", "0"]) == 2
    assert "--interval must be a positive number of seconds" in capsys.readouterr().err


def test_a_sweep_round_survives_a_broken_sweep(late_repair, monkeypatch, test_clock):
    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(escalation, "sweep", broken)
    done = worker.Worker(clock=test_clock).tick()  # logged, and the other jobs and the outbox still run
    assert done.fired == [] and done.report.failed == 0


def test_a_round_also_closes_silent_requesters_and_creates_recurring_work(api, test_clock, db_url):
    """The worker drives every clock-driven job: here a repair resolved a week ago is auto-confirmed."""
    api.user("nurse", "requester", department="心内科")
    api.user("dispatcher", "dispatcher", department="后勤保障部")
    api.user("tech", "technician", department="后勤保障部")
    test_clock.set(at("2026-10-12T09:00:00"))
    order = api.new_order("nurse")
    api.fire("dispatcher", order["id"], "assign", assignee="tech")
    for event in ("accept", "start"):
        api.fire("tech", order["id"], event)
    api.fire("tech", order["id"], "resolve", fields={"labour_minutes": 30})
    test_clock.set(at("2026-10-19T09:00:00"))  # three working days and more without an answer
    loop = worker.Worker(clock=test_clock)
    done = loop.tick()
    assert [o.number for o in done.confirmed] == [order["number"]]
    assert done.created, "the shipped schedule has daily rounds due by Monday 09:00"
    assert loop.tick().confirmed == []  # nothing twice
