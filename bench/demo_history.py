"""Benchmark: `houqin init --demo` with six months of history, on SQLite and on PostgreSQL, against 60 s.

Times what the command does after the schema and definitions: the demo's people, places and today's work
orders, and the history under them (engine/demo/history.py), committed. Prints the time against the 60 s
target, the rows written per table, and a baseline measured in the same run: the same number of work orders
filed and driven to closed one by one through the live engine (timed on 200 of them, scaled up).

    python bench/demo_history.py --db both --months 6
"""
import argparse
import os
import resource
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

# bench/transitions.py shares its name with the state-machine library: keep bench/ last on the path.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE] + [str(_HERE)]

from sqlalchemy import func  # noqa: E402
from sqlmodel import Session, SQLModel, select  # noqa: E402

import benchdb  # noqa: E402
from engine.demo import load_demo  # noqa: E402
from engine.orders import recurring, workorders  # noqa: E402
from engine.people.users import actor_for  # noqa: E402
from engine.storage.models import User, WorkOrder  # noqa: E402
from engine.storage.unit_of_work import unit_of_work  # noqa: E402

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
TARGET = 60.0
BASELINE_ORDERS = 200
STEPS = [("assign", "dispatcher", {"assignee": "tech"}), ("accept", "tech", {}), ("start", "tech", {}),
         ("resolve", "tech", {"fields": {"labour_minutes": 30}}), ("confirm", "nurse", {})]


def run(db: str, months: float, seed: int) -> None:
    url = benchdb.url_for(db)
    engine = benchdb.fresh(url)
    with Session(engine, expire_on_commit=False) as session, unit_of_work(session):
        recurring.publish_file(session, now=NOW)
    started, cpu, workers = time.perf_counter(), time.process_time(), _children_cpu()
    with Session(engine, expire_on_commit=False) as session, unit_of_work(session):
        lines = load_demo(session, NOW, months=months, seed=seed)
    elapsed, cpu, workers = time.perf_counter() - started, time.process_time() - cpu, _children_cpu() - workers
    load = os.getloadavg()[0]
    with Session(engine) as session:
        counts = {table.name: session.execute(select(func.count()).select_from(table)).scalar_one()
                  for table in SQLModel.metadata.sorted_tables}
        orders = counts["work_orders"]
    per_order = _engine_per_order(engine)
    name = benchdb.database_name(engine)
    print(f"\n{name}: {benchdb.machine(engine)}")
    print(f"  {lines[-1]}")
    print(f"  init --demo with {months:g} months: {elapsed:.1f} s wall, target {TARGET:.0f} s: "
          f"{'met' if elapsed <= TARGET else 'MISSED'} (CPU: {cpu:.1f} s in this process, {workers:.1f} s in the "
          f"replay workers; load average {load:.1f} on {os.cpu_count()} cores)")
    print(f"  rows written: {sum(counts.values())} ("
          + ", ".join(f"{table} {count}" for table, count in sorted(counts.items(), key=lambda kv: -kv[1]) if count)
          + ")")
    print(f"  baseline, the live engine one work order at a time: {per_order * 1000:.1f} ms per order, "
          f"{per_order * orders:.0f} s for {orders} orders: the bulk history is {per_order * orders / elapsed:.1f}x faster")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _engine_per_order(engine) -> float:
    """Seconds per repair filed and driven to closed through workorders.create and fire, each its own commit."""
    with Session(engine, expire_on_commit=False) as session:
        actors = {name: actor_for(session, session.exec(select(User).where(User.username == name)).one())
                  for name in ("nurse", "dispatcher", "tech")}
    started = time.perf_counter()
    for n in range(BASELINE_ORDERS):
        at = NOW + timedelta(minutes=n)
        with Session(engine, expire_on_commit=False) as session, unit_of_work(session):
            order = workorders.create(session, actors["nurse"], process="repair", title="水龙头漏水", priority="normal",
                                      fields={"category": "building"}, now=at)
            order_id = order.id
        for event, who, extra in STEPS:
            with Session(engine, expire_on_commit=False) as session, unit_of_work(session):
                workorders.fire(session, actors[who], order_id, event, workorders.EventInput(**extra), at)
    with Session(engine) as session:
        assert session.get(WorkOrder, order_id).state == "closed"
    return (time.perf_counter() - started) / BASELINE_ORDERS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="both", help="sqlite, postgresql, both, or a database URL")
    parser.add_argument("--months", type=float, default=6)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    for db in (["sqlite", "postgresql"] if args.db == "both" else [args.db]):
        run(db, args.months, args.seed)


if __name__ == "__main__":
    main()
