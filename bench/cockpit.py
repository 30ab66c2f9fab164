"""Benchmark: the cockpit (数据驾驶舱) over a million historical work orders, against one COUNT(*).

Loads N work orders spread over the last two years (default 1,000,000: repairs mostly,
complaints, hazards, procurements; 1% still open), each with the rows its life left
behind: SLA timers, history (create, transitions, notification, labour on the repair's
`resolve`), the requester's verdict and, for some, escalations. 10,000 of them are made
in Python and written with COPY (PostgreSQL) or Core executemany (SQLite); the database
then copies them with ids and times shifted (INSERT … SELECT) up to N.

Then times what a supervisor opening the cockpit waits for: `engine.reports.dashboard.figures`
with the last 12 months month by month, exactly what GET /api/v1/dashboard computes, and
compares it with a single `SELECT COUNT(*) FROM work_orders` on the same table.

    python bench/cockpit.py --db postgresql --orders 1000000
"""
import argparse
import json
import random
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

# bench/transitions.py shares its name with the state-machine library: keep bench/ last on the
# path so the engine imports the library, and `benchdb` is still found.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE] + [str(_HERE)]

from sqlalchemy import JSON, event, func, insert, select, text  # noqa: E402
from sqlmodel import Session  # noqa: E402

import benchdb  # noqa: E402
from engine.reports.dashboard import Scope, figures  # noqa: E402
from engine.storage.models import Escalation, Feedback, History, SlaTimer, UTCDateTime, WorkOrder  # noqa: E402

NOW = datetime(2026, 10, 12, 1, 0, tzinfo=timezone.utc)  # Monday 09:00 in Shanghai
SPAN = timedelta(days=730)
DEPARTMENTS, REQUESTERS, TECHNICIANS, LOCATIONS = 30, 300, 40, 400
TARGET = 20  # the bound on dashboard / COUNT(*)
TEMPLATE = 10_000  # orders generated in Python; the rest are shifted copies made by the database

# What each kind of historical work order went through: (share in 20, its states in order with
# the event that entered each, its SLA timers, the state where the requester judges it).
LIVES = {
    "repair": (15, [(None, "reported"), ("assign", "assigned"), ("accept", "accepted"), ("start", "in_progress"),
                    ("resolve", "resolved"), ("confirm", "closed")], ("response", "resolution"), "resolved"),
    "complaint": (2, [(None, "received"), ("accept", "accepted"), ("assign", "assigned"), ("start", "handling"),
                      ("reply", "replied"), ("confirm", "closed")], ("acceptance", "reply"), "replied"),
    "hazard": (2, [(None, "reported"), ("register", "registered"), ("assign", "assigned"), ("start", "rectifying"),
                   ("submit_fix", "reinspection"), ("pass", "closed_out")], ("rectification",), None),
    "procurement": (1, [(None, "submitted"), ("approve", "dept_approved"), ("review", "reviewed"),
                        ("deliver", "delivered"), ("confirm", "closed")], ("approval", "delivery"), "delivered"),
}
CATEGORIES = {"repair": ["electrical", "plumbing", "hvac", "elevator", "medical_equipment", "medical_gas", "building"],
              "hazard": ["fire", "security", "facility", "special_equipment"]}
PRIORITIES = ["normal"] * 14 + ["high"] * 3 + ["urgent"] * 2 + ["low"]


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def generate(template: int, total: int, first_user: int, seed: int = 6):
    """The template's rows per table, as dicts of column values (aware datetimes, dicts for JSON).

    Template order j is created at j/template of the span plus a jitter below span/total, so
    that the (total/template - 1) copies, each shifted by span/total more, fill the gaps.
    """
    rng = random.Random(seed)
    kinds = [key for key, (share, *_rest) in LIVES.items() for _ in range(share)]
    requesters = range(first_user, first_user + REQUESTERS)
    technicians = range(first_user + REQUESTERS, first_user + REQUESTERS + TECHNICIANS)
    for order_id in range(1, template + 1):
        process = kinds[order_id % len(kinds)]
        _share, life, timer_names, feedback_state = LIVES[process]
        created = NOW - SPAN + SPAN * (order_id - 1) / template + SPAN * rng.random() / total
        still_open = order_id > template * 0.99
        steps = life[: rng.randrange(2, len(life) - 1)] if still_open else life
        reporter, tech = rng.choice(requesters), rng.choice(technicians)
        fields = {"category": rng.choice(CATEGORIES[process])} if process in CATEGORIES else {}
        at, previous, rows = created, None, {"history": [], "sla_timers": [], "feedback": [], "escalations": []}
        for event, state in steps:
            data, labour = {"fields": {}}, None
            if event == "resolve":
                labour = rng.randrange(15, 240)
                data = {"fields": {"labour_minutes": labour}}
            rows["history"].append(dict(work_order_id=order_id, at=at, actor_id=reporter if event in (None, "confirm") else tech,
                                        kind="create" if event is None else "transition", event=event,
                                        from_state=None if event is None else previous, to_state=state, data=data,
                                        labour_minutes=None if labour is None else float(labour)))
            if event == "assign":
                rows["history"].append(dict(work_order_id=order_id, at=at, kind="notification", comment="派单",
                                            data={"kind": "assignment", "recipients": [tech]}))
            previous, at = state, at + timedelta(minutes=rng.randrange(5, 600))
        closed = steps[-1][1] == life[-1][1]
        late = rng.random() < 0.1
        for name in timer_names:
            target = timedelta(hours=rng.choice((2, 4, 24, 72)))
            stopped = None if still_open else created + target * rng.uniform(0.2, 1.6 if late else 0.95)
            status = "running" if still_open else ("breached" if stopped > created + target else "met")
            timer = dict(work_order_id=order_id, name=name, calendar="workday", target_minutes=target.total_seconds() / 60,
                         started_at=created, due_at=created + target, status=status, stopped_at=stopped,
                         working_seconds=None if stopped is None else (stopped - created).total_seconds() * 0.6,
                         breached=status == "breached", level=1 if status == "breached" else -1,
                         next_check_at=created + target if still_open else None)
            rows["sla_timers"].append(timer)
        if late and rng.random() < 0.5:
            rows["escalations"].append(dict(timer_order=len(rows["sla_timers"]) - 1, work_order_id=order_id, level=1,
                                            fired_at=created + timedelta(hours=2), recipients=[tech]))
        if closed and feedback_state:
            auto = rng.random() < 0.2
            satisfied = auto or rng.random() < 0.95
            rows["feedback"].append(dict(work_order_id=order_id, satisfied=satisfied, auto=auto, at=at, by_id=None if auto else reporter,
                                         rating=None if auto else (rng.choice((4, 5, 5)) if satisfied else rng.choice((1, 2)))))
            rows["history"].append(dict(work_order_id=order_id, at=at, actor_id=reporter, kind="feedback",
                                        data={"satisfied": satisfied, "auto": auto}))
        order = dict(id=order_id, number=f"{process[:2].upper()}-{order_id}", process=process,
                     definition_version=1, state=steps[-1][1], priority=rng.choice(PRIORITIES),
                     department_id=1 + order_id % DEPARTMENTS, location=f"{1 + rng.randrange(LOCATIONS) // 20}号楼 {rng.randrange(20)}层",
                     title="历史工单", fields=fields, reporter_id=reporter, assignee_id=tech, closed=closed,
                     closed_at=at if closed else None, created_at=created, updated_at=at,
                     escalation_level=1 if rows["escalations"] else 0, reopen_count=1 if rng.random() < 0.03 else 0,
                     reached_feedback=any(state == feedback_state for _, state in steps),
                     deadline_missed=any(timer["status"] == "breached" for timer in rows["sla_timers"]))
        yield order, rows


# --- loading ----------------------------------------------------------------------------------

TABLES = {"work_orders": WorkOrder, "history": History, "sla_timers": SlaTimer, "feedback": Feedback,
          "escalations": Escalation}


def _is_json(column) -> bool:
    """JSON, or a decorator over it (StoredJSON)."""
    return isinstance(column.type, JSON) or isinstance(getattr(column.type, "impl_instance", None), JSON)


def _complete(table, row: dict) -> dict:
    """Columns the generator leaves out get their model default, as the ORM would give them."""
    for column in table.columns:
        if column.name not in row and not column.primary_key:
            if column.default is not None and column.default.is_scalar:
                row[column.name] = column.default.arg
            elif _is_json(column):
                row[column.name] = {}
            else:
                row[column.name] = None
    return row


class Loader:
    """Buffers rows and writes them in batches: COPY on PostgreSQL, executemany elsewhere."""

    def __init__(self, engine):
        self.engine, self.buffers = engine, {name: [] for name in TABLES}
        self.postgres = engine.dialect.name == "postgresql"

    def add(self, table: str, row: dict) -> None:
        self.buffers[table].append(_complete(TABLES[table].__table__, row))

    def flush_all(self) -> None:
        for name in TABLES:  # in this order: work orders and timers before the rows pointing at them
            self.flush(name)

    def flush(self, name: str) -> None:
        rows, self.buffers[name] = self.buffers[name], []
        if not rows:
            return
        table = TABLES[name].__table__
        if not self.postgres:
            with self.engine.begin() as connection:
                connection.execute(insert(table), rows)
            return
        columns = list(rows[0])
        json_columns = {c.name for c in table.columns if _is_json(c)}
        raw = self.engine.raw_connection()
        try:
            with raw.driver_connection.cursor() as cursor, cursor.copy(
                    f"COPY {name} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([json.dumps(row[c], ensure_ascii=False) if c in json_columns
                                    else _naive(row[c]) if isinstance(row[c], datetime) else row[c] for c in columns])
            raw.driver_connection.commit()
        finally:
            raw.close()


def load(engine, count: int, first_user: int) -> None:
    """A template of at most TEMPLATE orders written from Python, then copied inside the database."""
    template = min(count, TEMPLATE)
    if count % template:
        raise SystemExit(f"--orders must be a multiple of {TEMPLATE:,} above it")
    loader = Loader(engine)
    # Ids are given, not drawn from sequences, so escalations can point at their timers and the
    # copies can shift every id by a fixed amount.
    timer_id = 1
    for order, rows in generate(template, count, first_user):
        loader.add("work_orders", order)
        for row in rows["sla_timers"]:
            row["id"], timer_id = timer_id, timer_id + 1
        for table in ("history", "sla_timers", "feedback"):
            for row in rows[table]:
                loader.add(table, row)
        for row in rows["escalations"]:
            row["timer_id"] = rows["sla_timers"][row.pop("timer_order")]["id"]
            loader.add("escalations", row)
        if order["id"] % 5_000 == 0:
            loader.flush_all()
    loader.flush_all()
    copies = count // template
    if copies > 1:
        with _without_indexes(engine):
            replicate(engine, template, timer_id - 1, copies, SPAN.total_seconds() / count)
    with engine.begin() as connection:
        if loader.postgres:
            for table in TABLES:
                connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                        f"(SELECT max(id) FROM {table}))"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        # A database that has been running for years has been vacuumed and analysed.
        connection.execute(text("VACUUM ANALYZE" if loader.postgres else "ANALYZE"))


@contextmanager
def _without_indexes(engine):
    """PostgreSQL: drop the constraints and indexes of the loaded tables while copying, and build
    them again after, as a bulk load does (each row checked by a trigger and written into every
    index costs several times more than one sort per index at the end)."""
    if engine.dialect.name != "postgresql":
        yield
        return
    names = ", ".join(f"'{name}'" for name in TABLES)
    with engine.begin() as connection:
        # Foreign keys pointing into these tables from elsewhere too: they hang on the primary keys.
        constraints = connection.execute(text(
            f"SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), contype FROM pg_constraint "
            f"WHERE contype IN ('p', 'u', 'f') AND (conrelid::regclass::text IN ({names}) "
            f"OR confrelid::regclass::text IN ({names})) ORDER BY contype = 'f' DESC")).all()
        indexes = connection.execute(text(
            f"SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ({names}) AND indexname NOT IN "
            f"(SELECT conname FROM pg_constraint)")).all()
        for table, name, _definition, _kind in constraints:  # foreign keys first
            connection.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
        for name, _definition in indexes:
            connection.execute(text(f'DROP INDEX "{name}"'))
    yield
    with engine.begin() as connection:
        connection.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
        for table, name, definition, _kind in reversed(constraints):  # keys before what points at them
            connection.execute(text(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'))
        for _name, definition in indexes:
            connection.execute(text(definition))


def replicate(engine, orders: int, timers: int, copies: int, step_seconds: float) -> None:
    """Copy the template `copies - 1` times: ids shifted past it, times shifted by `step_seconds` each."""
    postgres = engine.dialect.name == "postgresql"

    def later(column: str) -> str:
        seconds = f"(k.n * {step_seconds!r})"
        if postgres:
            return f"{column} + make_interval(secs => {seconds})"
        return f"strftime('%Y-%m-%d %H:%M:%f000', {column}, '+' || {seconds} || ' seconds')"

    shifted = {"work_order_id": f"work_order_id + k.n * {orders}", "timer_id": f"timer_id + k.n * {timers}"}
    statements = []
    for name, model in TABLES.items():
        table = model.__table__
        columns, values = [], []
        for column in table.columns:
            if column.primary_key and name not in ("work_orders", "sla_timers"):
                continue  # drawn from the sequence
            columns.append(column.name)
            if column.primary_key:
                values.append(f"id + k.n * {orders if name == 'work_orders' else timers}")
            elif column.name == "number":
                values.append(f"substr(number, 1, 3) || CAST(id + k.n * {orders} AS TEXT)")
            elif column.name in shifted:
                values.append(shifted[column.name])
            elif isinstance(column.type, UTCDateTime):
                values.append(later(column.name))
            else:
                values.append(column.name)
        template_rows = f"id <= {orders}" if name == "work_orders" else f"work_order_id <= {orders}"
        statements.append(
            f"INSERT INTO {name} ({', '.join(columns)}) "
            f"WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < {copies - 1}) "
            f"SELECT {', '.join(values)} FROM {name} CROSS JOIN k WHERE {template_rows}")

    def run(batch: list[str]) -> None:
        for statement in batch:
            with engine.begin() as connection:
                if postgres:  # a benchmark's load: losing it in a crash costs nothing
                    connection.execute(text("SET LOCAL synchronous_commit = off"))
                connection.execute(text(statement))

    if not postgres:  # one writer at a time
        run(statements)
        return
    # Two cores: history (the largest by far) on one connection, everything else on the other.
    history = [st for st in statements if st.startswith("INSERT INTO history ")]
    with ThreadPoolExecutor(2) as pool:
        for done in [pool.submit(run, history), pool.submit(run, [st for st in statements if st not in history])]:
            done.result()


# --- timing -----------------------------------------------------------------------------------

def timed(action, repeat: int) -> tuple[float, object]:
    """Median seconds of `repeat` runs after one run that warms caches, and what the action returned."""
    shown = action()
    spent = []
    for _ in range(repeat):
        began = time.perf_counter()
        action()
        spent.append(time.perf_counter() - began)
    return statistics.median(spent), shown


def _statements(engine, action) -> int:
    """How many statements `action` sends: the robust figure on a noisy machine."""
    sent = []
    record = lambda *args: sent.append(1)  # noqa: E731
    event.listen(engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return len(sent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="postgresql", help="postgresql (the bench database on loopback), sqlite or a URL")
    parser.add_argument("--orders", type=int, default=1_000_000, help="historical work orders (default 1,000,000)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each (median reported)")
    args = parser.parse_args()

    engine = benchdb.fresh(benchdb.url_for(args.db))
    people = {f"nurse{i}": ("requester", f"科室{i % DEPARTMENTS:02d}") for i in range(REQUESTERS)}
    people |= {f"tech{i}": ("technician", "后勤保障部") for i in range(TECHNICIANS)}
    people["chief"] = ("supervisor", "后勤保障部")
    actors = benchdb.people(engine, **people)
    began = time.perf_counter()
    load(engine, args.orders, first_user=actors["nurse0"].id)
    loaded = time.perf_counter() - began

    with engine.connect() as connection:
        sizes = {name: connection.execute(select(func.count()).select_from(model.__table__)).scalar_one()
                 for name, model in TABLES.items()}

    def cockpit():
        with Session(engine) as session:
            return figures(session, actors["chief"], Scope(), now=NOW, monthly=True)

    def count():
        with engine.connect() as connection:
            return connection.execute(text("SELECT COUNT(*) FROM work_orders")).scalar_one()

    (cockpit_s, shown), (count_s, _) = timed(cockpit, args.repeat), timed(count, max(args.repeat, 3))
    statements = _statements(engine, cockpit)
    print(f"cockpit on {benchdb.database_name(engine)}: {sizes['work_orders']:,} work orders, "
          f"{sizes['history']:,} history rows, {sizes['sla_timers']:,} timers, {sizes['feedback']:,} verdicts "
          f"(loaded in {loaded:.0f} s)")
    print(f"  machine: {benchdb.machine(engine)}")
    print(f"  dashboard, last 12 months month by month (GET /api/v1/dashboard): {cockpit_s * 1000:8.0f} ms "
          f"(covers {shown['total']:,} work orders, {len(shown['by_month'])} months)")
    print(f"  SELECT COUNT(*) FROM work_orders:                                 {count_s * 1000:8.1f} ms")
    ratio = cockpit_s / count_s
    met = "met" if ratio <= TARGET else "NOT met"
    print(f"  statements of the dashboard: {statements}")
    print(f"  ratio dashboard / COUNT(*): {ratio:.0f}x (target <= {TARGET}x: {met})")
    print(f"RATIO cockpit_vs_count {engine.dialect.name} {ratio:.1f} target <={TARGET} {met}")


if __name__ == "__main__":
    main()
