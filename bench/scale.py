"""Benchmark: the inbox and the lists as the history grows from 10,000 to 1,000,000 work orders.

A hospital's open work stays about the same size while its closed history grows month after
month; what people open every few minutes must not slow down with that history. Two databases
hold the same 300 open repairs (100 waiting for the desk, 100 with the technician, 100 in
progress) among 10,000 and among 1,000,000 work orders (the rest closed, each with its two SLA
timers, copied by the database from one closed repair); they are read in turn, through the
functions the API routes run:

- inbox      GET /api/v1/inbox for the technician and for the dispatcher
- lists      GET /api/v1/workorders as the queues ask it: in progress (supervisor), waiting for
             the desk (dispatcher), overdue and escalated (supervisor)
- all-time   GET /api/v1/workorders unfiltered (supervisor), printed for information: its
             `total` counts every work order ever filed, so it grows with the table by nature.

Prints the median time of each at both sizes and their ratio; the target is ≤ 1.5.

    python bench/scale.py --db postgresql
    python bench/scale.py --db sqlite --large 200000     # scaled down
"""
import argparse
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

# bench/transitions.py shares its name with the state-machine library: keep bench/ last on the
# path so the engine imports the library, and `benchdb` is still found.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE] + [str(_HERE)]

from sqlalchemy import create_engine, make_url, text  # noqa: E402
from sqlmodel import Session  # noqa: E402

import benchdb  # noqa: E402
from engine.clock import Clock  # noqa: E402
from engine.orders import workorders  # noqa: E402
from engine.orders.workorders import EventInput  # noqa: E402
from engine.storage.models import SlaTimer, WorkOrder  # noqa: E402
from engine.storage.unit_of_work import unit_of_work  # noqa: E402
from targets import Target  # noqa: E402
from web.api.inbox import get_inbox  # noqa: E402
from web.api.workorders import list_work_orders  # noqa: E402

START = datetime(2026, 10, 12, 1, 0, tzinfo=timezone.utc)  # Monday 09:00 in Shanghai
OPEN_PER_STATE = 100
WARM_UP = 10
TARGET = Target("<=", 1.5)


def open_work(engine, actors: dict) -> int:
    """The open repairs, and one closed repair to copy; returns the closed one's id."""
    def step(order_id, who, event, minutes, **request):
        with Session(engine, expire_on_commit=False) as session, unit_of_work(session):
            workorders.fire(session, actors[who], order_id, event, EventInput(**request), START + timedelta(minutes=minutes))

    def report(minutes) -> int:
        with Session(engine, expire_on_commit=False) as session, unit_of_work(session):
            return workorders.create(session, actors["nurse"], process="repair", title="水龙头漏水", location="3F 护士站",
                                     fields={"category": "plumbing"}, now=START + timedelta(minutes=minutes)).id

    for n in range(3 * OPEN_PER_STATE):
        order_id = report(n)
        if n >= OPEN_PER_STATE:
            step(order_id, "dispatcher", "assign", n + 1, assignee="tech")
        if n >= 2 * OPEN_PER_STATE:
            step(order_id, "tech", "accept", n + 2)
            step(order_id, "tech", "start", n + 3)
    closed = report(0)
    for who, event, request in (("dispatcher", "assign", {"assignee": "tech"}), ("tech", "accept", {}), ("tech", "start", {}),
                                ("tech", "resolve", {"fields": {"labour_minutes": 30}}), ("nurse", "confirm", {})):
        step(closed, who, event, 10, **request)
    return closed


def grow(engine, template: int, to: int) -> None:
    """Copies of the closed repair (and its timers) until the table holds `to` work orders, made by the database."""
    wo, timers = WorkOrder.__table__, SlaTimer.__table__
    order_columns = [c.name for c in wo.columns if c.name not in ("id", "number")]
    timer_columns = [c.name for c in timers.columns if c.name not in ("id", "work_order_id")]
    with engine.begin() as connection:
        have = connection.execute(text("SELECT count(*) FROM work_orders")).scalar_one()
        first = connection.execute(text("SELECT count(*) FROM work_orders WHERE number LIKE 'H-%'")).scalar_one() + 1
        series = "WITH RECURSIVE s(n) AS (SELECT CAST(:first AS INTEGER) UNION ALL SELECT n + 1 FROM s WHERE n < :last) "
        connection.execute(text(
            series + f"INSERT INTO work_orders (number, {', '.join(order_columns)}) "
            f"SELECT 'H-' || s.n, {', '.join('w.' + c for c in order_columns)} FROM s, work_orders w WHERE w.id = :template"),
            {"first": first, "last": first + to - have - 1, "template": template})
        connection.execute(text(
            f"INSERT INTO sla_timers (work_order_id, {', '.join(timer_columns)}) "
            f"SELECT w.id, {', '.join('t.' + c for c in timer_columns)} FROM work_orders w, sla_timers t "
            "WHERE t.work_order_id = :template AND w.number LIKE 'H-%' AND w.id > :above"),
            {"template": template, "above": connection.execute(text("SELECT max(id) FROM work_orders WHERE number NOT LIKE 'H-%'")).scalar_one()
             if first == 1 else connection.execute(text("SELECT max(id) FROM work_orders WHERE number = :n"), {"n": f"H-{first - 1}"}).scalar_one()})
        connection.execute(text("ANALYZE"))


READS = {
    "inbox, technician": lambda s, a, c: get_inbox(s, a["tech"], c, limit=50),
    "inbox, dispatcher": lambda s, a, c: get_inbox(s, a["dispatcher"], c, limit=50),
    "list in progress": lambda s, a, c: _list(s, a["supervisor"], c, state="in_progress"),
    "list for the desk": lambda s, a, c: _list(s, a["dispatcher"], c, state="reported"),
    "list overdue": lambda s, a, c: _list(s, a["supervisor"], c, overdue=True),
    "list escalated": lambda s, a, c: _list(s, a["supervisor"], c, escalated=True),
}
ALL_TIME = {"list, all time": lambda s, a, c: _list(s, a["supervisor"], c)}


def _list(session, actor, clock, **filters):
    return list_work_orders(session=session, actor=actor, clock=clock, **filters)


def timed(engines: dict, actors: dict, reads: dict, repeat: int) -> dict:
    """Median ms of each read on each database, the databases taking turns read by read so that whatever else
    the machine does weighs on both alike."""
    clock = Clock(START + timedelta(days=3))  # the open repairs are late by then: the overdue list has them
    spent = {(name, size): [] for name in reads for size in engines}
    for n in range(repeat + WARM_UP):
        for name, read in reads.items():
            for size, engine in engines.items():
                with Session(engine) as session:
                    began = time.perf_counter()
                    read(session, actors[size], clock)
                    if n >= WARM_UP:  # the first reads fill caches, the statement cache and the database's buffers
                        spent[name, size].append(time.perf_counter() - began)
    return {key: statistics.median(times) * 1000 for key, times in spent.items()}


def second_database(url: str) -> str:
    """Where the small table lives beside the large one: a new SQLite file, or `<database>_small` on PostgreSQL."""
    if url.startswith("sqlite"):
        return benchdb.url_for("sqlite")
    parsed = make_url(url)
    small = parsed.set(database=f"{parsed.database}_small")
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        if not connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": small.database}).first():
            connection.execute(text(f'CREATE DATABASE "{small.database}"'))
    admin.dispose()
    return small.render_as_string(hide_password=False)


def build(url: str, size: int) -> tuple:
    engine = benchdb.fresh(url)
    actors = benchdb.people(engine, nurse=("requester", "内科"), dispatcher=("dispatcher",), supervisor=("supervisor",),
                            tech=("technician", "后勤保障部", "水电班"))
    grow(engine, open_work(engine, actors), size)
    return engine, actors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="postgresql", help="sqlite, postgresql (the bench database on loopback) or a URL")
    parser.add_argument("--small", type=int, default=10_000, help="work orders in the small table (default 10,000)")
    parser.add_argument("--large", type=int, default=1_000_000, help="work orders in the large table (default 1,000,000)")
    parser.add_argument("--repeat", type=int, default=30, help="timed reads of each kind per size (median)")
    args = parser.parse_args()

    url = benchdb.url_for(args.db)
    built = {args.small: build(second_database(url), args.small), args.large: build(url, args.large)}
    engines = {size: engine for size, (engine, _) in built.items()}
    figures = timed(engines, {size: people for size, (_, people) in built.items()}, READS | ALL_TIME, args.repeat)

    database = benchdb.database_name(engines[args.large])
    print(f"scale on {database}: {3 * OPEN_PER_STATE} open work orders among {args.small:,} and {args.large:,} (two "
          f"databases read in turn), median of {args.repeat} reads")
    print(f"  machine: {benchdb.machine(engines[args.large])}")
    worst = 0.0
    for name in (*READS, *ALL_TIME):
        small, large = figures[name, args.small], figures[name, args.large]
        ratio = large / small
        if name in READS:
            worst = max(worst, ratio)
        note = "" if name in READS else "   (information: counts every work order)"
        print(f"  {name:20s} {small:8.2f} ms → {large:8.2f} ms   ratio {ratio:5.2f}{note}")
    print(TARGET.line("scale_inbox_and_lists", database.lower(), worst))


if __name__ == "__main__":
    main()
