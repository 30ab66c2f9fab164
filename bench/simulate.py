"""Benchmark: what-if (模拟) on the demo hospital's six months, and how honest its replay is.

Builds the demo hospital (`houqin init --demo`: six months of a 1,500-bed hospital's history, seed 2026)
in a SQLite file, untimed (or reuses one: --db FILE), then times:

- the draft most asked for: repairs with the urgent response target shortened from 15 to 10 minutes,
  every repair of six months replayed in force and, where the draft can change it, under the draft;
- a calendars draft (the calendars in force): every work order of every process, both sides;
- the baseline, in the same run: reading the six months' journeys alone (two queries, no replay).

Target: a process draft under 10 s on 2 cores. Then prints the honesty check: the replay in force beside
what the engine recorded (the sla_timers and escalations tables), per timer and in total.

    python bench/simulate.py
    python bench/simulate.py --db /tmp/demo.db   (built once, kept)
"""
import argparse
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE] + [str(_HERE)]

from sqlalchemy import func  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from engine.foresight import drafts, journeys  # noqa: E402
from engine.foresight.simulate import months_before, simulate  # noqa: E402
from engine.published import definitions  # noqa: E402
from engine.storage import db  # noqa: E402
from engine.storage.models import DataVersion, Escalation, SlaTimer, WorkOrder  # noqa: E402

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
TARGET_SECONDS = 10.0
SHORTER = ("urgent: {within: 15m, calendar: 24x7}", "urgent: {within: 10m, calendar: 24x7}")


def build(path: Path, months: int) -> str:
    from engine.demo import create_database

    url = f"sqlite:///{path}"
    create_database(url, NOW, months=months, seed=2026)
    return url


def timed(run):
    started = time.perf_counter()
    result = run()
    return result, time.perf_counter() - started


def recorded(session: Session, months: int):
    scope = (WorkOrder.created_at >= months_before(NOW, months), WorkOrder.created_at < NOW)
    on_time = {}
    for process, name, status, n in session.exec(
            select(WorkOrder.process, SlaTimer.name, SlaTimer.status, func.count())
            .join(WorkOrder, WorkOrder.id == SlaTimer.work_order_id).where(*scope, ~SlaTimer.name.startswith("dispatch:"))
            .group_by(WorkOrder.process, SlaTimer.name, SlaTimer.status)).all():
        met, ended = on_time.get((process, name), (0, 0))
        on_time[(process, name)] = (met + n * (status == "met"), ended + n * (status in ("met", "breached")))
    escalations = dict(session.exec(select(WorkOrder.process, func.count()).select_from(Escalation)
                                    .join(WorkOrder, WorkOrder.id == Escalation.work_order_id).where(*scope)
                                    .group_by(WorkOrder.process)).all())
    return on_time, escalations


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="a demo hospital's SQLite file: built there if missing, reused if present")
    parser.add_argument("--months", type=int, default=6)
    args = parser.parse_args()
    path = Path(args.db) if args.db else Path(tempfile.mkdtemp(prefix="houqin-simulate-")) / "demo.db"
    if path.exists():
        url = f"sqlite:///{path}"
        print(f"demo hospital: {path} (reused)")
    else:
        url, built = timed(lambda: build(path, args.months))
        print(f"demo hospital: {args.months} months built in {built:.1f} s (untimed below)")
    session = Session(db.get_engine(url))
    repair = definitions.latest(session, "repair").yaml_text.replace(*SHORTER, 1)
    calendars = session.exec(select(DataVersion.text).where(DataVersion.key == "calendars")
                             .order_by(DataVersion.version.desc())).first()
    process_draft, calendars_draft = drafts.read(session, repair, "repair.yaml"), drafts.read(session, calendars, "calendars.yaml")
    simulate(session, process_draft, months=1, now=NOW)  # compile definitions and calendars once, as a server has

    history, loading = timed(lambda: journeys.load(session, since=months_before(NOW, args.months), until=NOW))
    shorter, seconds = timed(lambda: simulate(session, process_draft, months=args.months, now=NOW))
    everything, all_seconds = timed(lambda: simulate(session, calendars_draft, months=args.months, now=NOW))
    repairs, orders = shorter["in_force"]["orders"], everything["in_force"]["orders"]
    print(f"\nbaseline: reading {len(history)} journeys ({args.months} months, every process): {loading:.2f} s")
    verdict = "under" if seconds < TARGET_SECONDS else "OVER"
    print(f"repair draft (urgent response 15m -> 10m): {repairs} repairs in {seconds:.2f} s "
          f"({repairs / seconds:,.0f} journeys/s; {seconds / loading:.1f}x reading them), "
          f"{verdict} the {TARGET_SECONDS:.0f} s target")
    print(f"calendars draft (every process, both sides): {orders} work orders in {all_seconds:.2f} s "
          f"({orders / all_seconds:,.0f} journeys/s)")
    rate = {side: next(r["rate"] for r in shorter[side]["on_time"] if r["timer"] == "response")
            for side in ("in_force", "draft")}
    print(f"  repair response on time: {rate['in_force']:.1%} in force, {rate['draft']:.1%} with the draft; "
          f"{shorter['changed']['count']} work orders change")

    on_time, escalations = recorded(session, args.months)
    print("\nhonesty: the replay in force beside what the engine recorded")
    replayed = {(r["process"], r["timer"]): r for r in everything["in_force"]["on_time"]}
    worst = 0.0
    for (process, timer), (met, ended) in sorted(on_time.items()):
        mine = replayed.get((process, timer))
        real = met / ended if ended else 0.0
        gap = abs((mine["rate"] if mine else 0.0) - real) * 100
        worst = max(worst, gap)
        print(f"  on time {process}.{timer}: replayed {mine['rate']:.2%} ({mine['ended']} ended), "
              f"recorded {real:.2%} ({ended}), {gap:.2f} pp")
    fired = sum(r["count"] for r in everything["in_force"]["escalations"])
    real_total = sum(escalations.values())
    print(f"  escalations (all levels): replayed {fired}, recorded {real_total}, "
          f"{(fired - real_total) / real_total:+.1%} (target within 5%); on-time rates within {worst:.2f} pp (target 2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
