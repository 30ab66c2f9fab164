"""Scoring every open work order's risk: 10,000 open repairs, against a target of 1 s.

    python bench/risk_score.py                     # 10,000 open orders over 2 months of demo history
    python bench/risk_score.py --open 50000

The demo hospital's history trains the model (engine/foresight/risk.py; fitted once, as a running
Houqin keeps it for 15 minutes); then `open` repairs waiting to be accepted or in hand, each with its
running response and resolution timers started a random while ago, are added, and
`risk.at_risk` (what GET /workorders?at_risk=true and the sweeper call) is timed. Baseline, in the same
run: reading the same timers and their work orders alone, the query's share of the time.
"""
import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE] + [str(_HERE)]

from sqlalchemy import insert  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

import risk_demo  # noqa: E402
from engine.foresight import risk  # noqa: E402
from engine.published import definitions  # noqa: E402
from engine.sla import calendar  # noqa: E402
from engine.sla.lateness import LIVE  # noqa: E402
from engine.storage import db  # noqa: E402
from engine.storage.models import SlaTimer, Team, User, WorkOrder  # noqa: E402

TARGET = 1.0
CATEGORIES = ["electrical", "plumbing", "hvac", "building", "medical_equipment", "elevator", "other"]


def add_open(session: Session, count: int, seed: int) -> None:
    """`count` open repairs with their running timers, as the engine would have started them."""
    rng = random.Random(seed)
    now = risk_demo.NOW
    version = definitions.latest(session, "repair").version
    spec = definitions.compiled(session, "repair", version).definition.sla
    teams = list(session.exec(select(Team.id)).all())
    reporter = session.exec(select(User.id)).first()
    newest = calendar.newest(session)
    orders, timers = [], []
    first = (session.exec(select(WorkOrder.id).order_by(WorkOrder.id.desc())).first() or 0) + 1
    for i in range(count):
        priority = rng.choices(["urgent", "high", "normal", "low"], [5, 13, 67, 15])[0]
        state = rng.choice(["assigned", "accepted", "in_progress"])
        order_id = first + i
        started = now - timedelta(minutes=rng.uniform(1, 600 if priority in ("normal", "low") else 25))
        orders.append({"id": order_id, "number": f"BENCH{order_id:08d}", "process": "repair",
                       "definition_version": version, "state": state, "priority": priority, "title": "bench",
                       "description": "", "location": "", "fields": {"category": rng.choice(CATEGORIES)},
                       "reporter_id": reporter, "team_id": rng.choice(teams), "version": 1, "escalation_level": 0,
                       "reopen_count": 0, "closed": False, "auto_confirmed": False, "created_at": started,
                       "updated_at": started})
        for name in ("response", "resolution") if state == "assigned" else ("resolution",):
            target = spec[name].targets[priority]
            cal = calendar.lookup(session, target.calendar, newest)
            timer = {"work_order_id": order_id, "name": name, "cycle": 1, "calendar": target.calendar,
                     "calendar_version": newest, "target_minutes": target.within.minutes,
                     "target_days": target.within.days, "started_at": started, "status": "running",
                     "paused_seconds": 0.0, "breached": False, "level": -1}
            timer["due_at"] = cal.add(started, minutes=target.within.minutes, working_days=target.within.days)
            timers.append(timer)
    session.execute(insert(WorkOrder), orders)
    session.execute(insert(SlaTimer), timers)
    session.commit()


def timed(call, repeat: int) -> tuple[float, object, float]:
    """Median wall time, the last value, and median CPU time of this process (on a shared machine the
    wall time also counts other work's turns)."""
    times, cpu, value = [], [], None
    for _ in range(repeat):
        began, began_cpu = time.perf_counter(), time.process_time()
        value = call()
        times.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
    return statistics.median(times), value, statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open", type=int, default=10_000, help="open repairs to score")
    parser.add_argument("--months", type=float, default=2, help="months of demo history the model learns from")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    now = risk_demo.NOW
    with tempfile.TemporaryDirectory() as directory:
        url = risk_demo.build(Path(directory) / "demo.db", months=args.months)
        with Session(db.get_engine(url), expire_on_commit=False) as session:
            fit_time, fitted, _ = timed(lambda: risk.fit(session, asof=now), 1)
            add_open(session, args.open, seed=1)
            live = session.exec(select(SlaTimer.id).join(WorkOrder, WorkOrder.id == SlaTimer.work_order_id).where(
                SlaTimer.status.in_(LIVE), WorkOrder.closed == False)).all()  # noqa: E712
            read_time, _, read_cpu = timed(lambda: session.exec(
                select(SlaTimer.id, SlaTimer.started_at, SlaTimer.due_at, WorkOrder.process, WorkOrder.fields,
                       WorkOrder.state).join(WorkOrder, WorkOrder.id == SlaTimer.work_order_id)
                .where(SlaTimer.status.in_(LIVE), WorkOrder.closed == False)).all(), args.repeat)  # noqa: E712
            score_time, flagged, score_cpu = timed(lambda: risk.at_risk(session, now, fitted=fitted), args.repeat)
            scored = len(risk.score_open(session, now, fitted=fitted))
        open_orders = len({row for row in live})
    print(f"model fitted from {fitted.samples} timers ({args.months:g} months of demo history) in {fit_time:.1f} s "
          f"(kept {risk.REFRESH.seconds // 60} minutes)")
    print(f"open: {args.open} repairs added, {open_orders} live timers; {scored} scored (not late yet, enough "
          f"similar history), {len(flagged)} orders at risk")
    print(f"baseline, reading those timers and orders alone: {read_time * 1000:.0f} ms ({read_cpu * 1000:.0f} ms CPU)")
    print(f"scoring every open order's risk: {score_time * 1000:.0f} ms, {score_cpu * 1000:.0f} ms CPU "
          f"(target {TARGET * 1000:.0f} ms: {'met' if score_time < TARGET else 'MISSED'}; "
          f"{score_time / max(read_time, 1e-9):.1f}x the read alone)")


if __name__ == "__main__":
    main()
