"""Benchmark: repair work orders driven through their whole life, against the storage floor.

Each order goes report → assign → accept → start → hold → resume → resolve → confirm:
eight writes, each its own transaction, through the engine functions the API calls
(`engine.orders.workorders.create` / `fire`, a new session per step as a request would have).

The floor writes the very same rows with plain SQLAlchemy Core, one commit per step:
the work order insert/update (with its version check), the history row, the SLA
timer rows, the assignment notification and the number counter. Nothing is read,
nothing validated, no calendar consulted: that is as fast as these rows can be
stored on this database. Houqin's speed is reported as a ratio to it (target ≥ 0.9×), with
the statements each costs per step (counted once, on one order, outside the timed rounds).

The two runs alternate in rounds over the same tables so drift on a noisy machine hits
both alike.

    python bench/transitions.py --db sqlite --orders 10000
    python bench/transitions.py --db postgresql        # the database .ci/postgres.sh starts
"""
import argparse
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

# This file's name is also the state-machine library's: put bench/ last on the path so
# `import transitions` inside the engine finds the library, and `benchdb` is still found.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE] + [str(_HERE)]

from sqlalchemy import event, insert, update  # noqa: E402
from sqlalchemy.dialects import postgresql, sqlite  # noqa: E402
from sqlmodel import Session  # noqa: E402

import benchdb  # noqa: E402
from engine.orders import workorders  # noqa: E402
from engine.orders.workorders import EventInput  # noqa: E402
from engine.storage.models import Counter, History, Notification, SlaTimer, WorkOrder  # noqa: E402
from engine.storage.unit_of_work import unit_of_work  # noqa: E402

START = datetime(2026, 10, 12, 1, 0, tzinfo=timezone.utc)  # Monday 09:00 in Shanghai: working hours
# (event, minutes after the report, who fires it, what they send)
LIFE = [
    ("assign", 5, "dispatcher", EventInput(assignee="tech")),
    ("accept", 10, "tech", EventInput()),
    ("start", 20, "tech", EventInput()),
    ("hold", 30, "tech", EventInput(fields={"hold_reason": "waiting_parts"})),
    ("resume", 60, "tech", EventInput()),
    ("resolve", 90, "tech", EventInput(fields={"labour_minutes": 45}, comment="换了阀芯")),
    ("confirm", 120, "nurse", EventInput()),
]
WRITES_PER_ORDER = 1 + len(LIFE)
TARGET = 0.9  # Houqin at least this fraction of the floor's speed


def at(minutes: int) -> datetime:
    return START + timedelta(minutes=minutes)


# --- Houqin -----------------------------------------------------------------------------------

def houqin_orders(engine, actors: dict, count: int) -> None:
    for _ in range(count):
        with Session(engine, expire_on_commit=False) as session, unit_of_work(session):
            order = workorders.create(session, actors["nurse"], process="repair", title="水龙头漏水", location="3F 护士站",
                                      fields={"category": "plumbing"}, now=at(0))
        for event, minutes, who, request in LIFE:
            with Session(engine, expire_on_commit=False) as session, unit_of_work(session):
                workorders.fire(session, actors[who], order.id, event, request, now=at(minutes))


# --- the floor: the same rows, plain Core -----------------------------------------------------

class Floor:
    def __init__(self, engine, actors: dict):
        self.engine, self.actors = engine, actors
        self.dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
        self.wo, self.history = WorkOrder.__table__, History.__table__
        self.timers, self.notes = SlaTimer.__table__, Notification.__table__

    def orders(self, count: int) -> None:
        for _ in range(count):
            self.one_order()

    def _step(self, connection, order: dict, minutes: int, event: str, before: str, after: str, **changes):
        """The work order update with its optimistic version check, and the history row."""
        now = at(minutes)
        result = connection.execute(
            update(self.wo).where(self.wo.c.id == order["id"], self.wo.c.version == order["version"])
            .values(state=after, updated_at=now, version=order["version"] + 1, **changes))
        assert result.rowcount == 1
        order["version"] += 1
        connection.execute(insert(self.history).values(
            work_order_id=order["id"], at=now, actor_id=self.actors["tech"].id, kind="transition", event=event,
            from_state=before, to_state=after, comment="", data={"fields": {}}))

    def one_order(self) -> None:
        nurse, tech = self.actors["nurse"], self.actors["tech"]
        now = at(0)
        with self.engine.begin() as c:
            value = c.execute(
                self.dialect.insert(Counter.__table__).values(prefix="FL", year=2026, value=1)
                .on_conflict_do_update(index_elements=["prefix", "year"], set_={"value": Counter.__table__.c.value + 1})
                .returning(Counter.__table__.c.value)).scalar_one()
            order_id = c.execute(insert(self.wo).values(
                number=f"FL-2026-{value:06d}", process="repair", definition_version=1, state="reported",
                priority="normal", department_id=nurse.department_id, location="3F 护士站", title="水龙头漏水",
                description="", fields={"category": "plumbing"}, reporter_id=nurse.id, version=1,
                escalation_level=0, reopen_count=0, closed=False, auto_confirmed=False, created_at=now, updated_at=now,
            ).returning(self.wo.c.id)).scalar_one()
            c.execute(insert(self.history).values(work_order_id=order_id, at=now, actor_id=nurse.id, kind="create",
                                                  to_state="reported", comment="", data={"fields": {"category": "plumbing"}}))
            timers = {}
            for name, due in (("response", at(120)), ("resolution", at(3 * 24 * 60))):
                timers[name] = c.execute(insert(self.timers).values(
                    work_order_id=order_id, name=name, cycle=1, calendar="workday", target_minutes=120,
                    target_days=0, started_at=now, due_at=due, status="running", paused_seconds=0, breached=False,
                    level=-1, next_check_at=due,
                ).returning(self.timers.c.id)).scalar_one()
        order = {"id": order_id, "version": 1}
        with self.engine.begin() as c:
            self._step(c, order, 5, "assign", "reported", "assigned", assignee_id=tech.id, fields={"category": "plumbing"})
            c.execute(insert(self.notes).values(user_id=tech.id, work_order_id=order_id, kind="assignment",
                                                title="FL 水龙头漏水", body="", created_at=at(5)))
            c.execute(insert(self.history).values(work_order_id=order_id, at=at(5), kind="notification",
                                                  comment="FL 水龙头漏水", data={"kind": "assignment"}))
        with self.engine.begin() as c:
            self._step(c, order, 10, "accept", "assigned", "accepted")
            self._timer(c, timers["response"], status="met", stopped_at=at(10), working_seconds=600, next_check_at=None)
        with self.engine.begin() as c:
            self._step(c, order, 20, "start", "accepted", "in_progress")
        with self.engine.begin() as c:
            self._step(c, order, 30, "hold", "in_progress", "on_hold")
            self._timer(c, timers["resolution"], status="paused", paused_at=at(30), next_check_at=None)
        with self.engine.begin() as c:
            self._step(c, order, 60, "resume", "on_hold", "in_progress")
            self._timer(c, timers["resolution"], status="running", paused_at=None, paused_seconds=1800,
                        due_at=at(3 * 24 * 60 + 30), next_check_at=at(3 * 24 * 60))
        with self.engine.begin() as c:
            self._step(c, order, 90, "resolve", "in_progress", "resolved", fields={"category": "plumbing", "labour_minutes": 45})
            self._timer(c, timers["resolution"], status="met", stopped_at=at(90), working_seconds=3600, next_check_at=None)
        with self.engine.begin() as c:
            self._step(c, order, 120, "confirm", "resolved", "closed", closed=True, closed_at=at(120))

    def _timer(self, connection, timer_id: int, **values) -> None:
        connection.execute(update(self.timers).where(self.timers.c.id == timer_id).values(**values))


# --- statements per step ----------------------------------------------------------------------

def statements_per_step(engine, run_one) -> float:
    """Statements sent (SELECT, INSERT, UPDATE; not BEGIN/COMMIT) per write while `run_one()` drives one order."""
    sent = []

    def count(*_):
        sent.append(1)

    event.listen(engine, "before_cursor_execute", count)
    try:
        run_one()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(sent) / WRITES_PER_ORDER


# --- the run ----------------------------------------------------------------------------------

def run(db: str, orders: int, rounds: int) -> dict:
    url = benchdb.url_for(db)
    engine = benchdb.fresh(url)
    actors = benchdb.people(engine, nurse=("requester", "内科"), dispatcher=("dispatcher",),
                            tech=("technician", "后勤保障部", "水电班"))
    floor = Floor(engine, actors)
    houqin_orders(engine, actors, 20)  # warm up: compile the definition, fill caches and pools
    floor.orders(20)
    spent = {"houqin": 0.0, "floor": 0.0}
    per_round = max(orders // rounds, 1)
    done = 0
    while done < orders:
        batch = min(per_round, orders - done)
        for name, run_batch in (("floor", floor.orders), ("houqin", lambda n: houqin_orders(engine, actors, n))):
            began = time.perf_counter()
            run_batch(batch)
            spent[name] += time.perf_counter() - began
        done += batch
    writes = orders * WRITES_PER_ORDER
    houqin, floor_rate = writes / spent["houqin"], writes / spent["floor"]
    return {"database": benchdb.database_name(engine), "dialect": engine.dialect.name,
            "machine": benchdb.machine(engine), "orders": orders, "writes": writes,
            "houqin_per_s": houqin, "floor_per_s": floor_rate, "ratio": houqin / floor_rate,
            "houqin_statements": statements_per_step(engine, lambda: houqin_orders(engine, actors, 1)),
            "floor_statements": statements_per_step(engine, lambda: floor.orders(1))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite", help="sqlite, postgresql (the bench database on loopback) or a URL")
    parser.add_argument("--orders", type=int, default=10_000, help="work orders driven to closed (default 10,000)")
    parser.add_argument("--rounds", type=int, default=10, help="alternate Houqin and the floor this many times")
    args = parser.parse_args()
    result = run(args.db, args.orders, args.rounds)
    print(f"transitions on {result['database']}: {result['orders']:,} repair orders, "
          f"{result['writes']:,} writes (create + {len(LIFE)} transitions each, one commit per write)")
    print(f"  machine:            {result['machine']}")
    print(f"  Houqin engine:      {result['houqin_per_s']:8.0f} transitions/s  "
          f"{result['houqin_statements']:5.2f} statements per step")
    print(f"  floor (Core rows):  {result['floor_per_s']:8.0f} transitions/s  "
          f"{result['floor_statements']:5.2f} statements per step")
    verdict = "met" if result["ratio"] >= TARGET else "NOT met"
    print(f"  ratio Houqin/floor: {result['ratio']:.2f}x  (target >= {TARGET}: {verdict})")
    print(f"RATIO lifecycle {result['dialect']} {result['ratio']:.2f} target >={TARGET} {verdict}")


if __name__ == "__main__":
    main()
