"""Benchmark: statements per request on the read routes, and whether they grow with the data.

Counts what the database is sent (a SQLAlchemy `before_cursor_execute` listener) for

- GET /api/v1/workorders/{id}  a technician reads a work order in progress, with its history of
                               6 entries and then of 206 (target: at most 4, the same for both)
- GET /api/v1/workorders       a supervisor's list, 1 per page and then 50 (target: at most 3)

through the whole app (authentication included), and the time each takes in-process. The
tests pin the same ceilings (tests/test_api__batched_reads.py); this prints them beside the
other benchmarks.

    python bench/reads.py --db postgresql
"""
import argparse
import os
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

# bench/transitions.py shares its name with the state-machine library: keep bench/ last on the
# path so the engine imports the library, and `benchdb` is still found.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE] + [str(_HERE)]

from sqlalchemy import event  # noqa: E402
from sqlmodel import Session  # noqa: E402

import benchdb  # noqa: E402
from engine.orders import workorders  # noqa: E402
from engine.orders.workorders import EventInput  # noqa: E402
from engine.storage.models import History  # noqa: E402
from engine.storage.unit_of_work import unit_of_work  # noqa: E402
from targets import Target  # noqa: E402

SECRET = "houqin-bench-secret-key-not-for-production"
ORDERS = 60


def prepare(engine) -> dict:
    actors = benchdb.people(engine, nurse=("requester", "内科"), dispatcher=("dispatcher",), supervisor=("supervisor",),
                            tech=("technician", "后勤保障部", "水电班"))
    now = datetime.now(timezone.utc)
    ids = []
    for _ in range(ORDERS):
        with Session(engine, expire_on_commit=False) as session, unit_of_work(session):
            order = workorders.create(session, actors["nurse"], process="repair", title="水龙头漏水", location="3F 护士站",
                                      fields={"category": "plumbing"}, now=now)
            for who, name, request in (("dispatcher", "assign", EventInput(assignee="tech")),
                                       ("tech", "accept", EventInput()), ("tech", "start", EventInput())):
                workorders.fire(session, actors[who], order.id, name, request, now)
            ids.append(order.id)
    with Session(engine) as session, unit_of_work(session):  # the last one's history grows by 200 comments
        session.add_all([History(work_order_id=ids[-1], at=now + timedelta(seconds=n), actor_id=actors["tech"].id,
                                 kind="comment", comment=f"第 {n} 条") for n in range(200)])
    return {"short": ids[0], "long": ids[-1]}


def measure(client, engine, path: str, token: str, repeat: int) -> tuple[int, float]:
    """(statements of one request, median ms) after a warm-up."""
    headers = {"Authorization": f"Bearer {token}"}
    seen = []

    def record(*_):
        seen.append(1)

    for _ in range(5):
        assert client.get(path, headers=headers).status_code == 200
    event.listen(engine, "before_cursor_execute", record)
    client.get(path, headers=headers)
    event.remove(engine, "before_cursor_execute", record)
    spent = []
    for _ in range(repeat):
        began = time.perf_counter()
        client.get(path, headers=headers)
        spent.append(time.perf_counter() - began)
    return len(seen), statistics.median(spent) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite", help="sqlite, postgresql (the bench database on loopback) or a URL")
    parser.add_argument("--repeat", type=int, default=50, help="timed requests per route (median)")
    args = parser.parse_args()
    url = benchdb.url_for(args.db)
    engine = benchdb.fresh(url)
    orders = prepare(engine)
    os.environ.update(HOUQIN_DATABASE_URL=url, HOUQIN_SECRET_KEY=SECRET)
    from fastapi.testclient import TestClient

    from web.app import create_app
    from web.security import issue_token
    with Session(engine) as session:
        tokens = {name: issue_token(session, name, 0) for name in ("tech", "supervisor")}  # new users: epoch 0
    client = TestClient(create_app())

    database = benchdb.database_name(engine)
    figures = {
        "detail, history of 6": measure(client, engine, f"/api/v1/workorders/{orders['short']}", tokens["tech"], args.repeat),
        "detail, history of 206": measure(client, engine, f"/api/v1/workorders/{orders['long']}", tokens["tech"], args.repeat),
        "list, 1 per page": measure(client, engine, "/api/v1/workorders?limit=1", tokens["supervisor"], args.repeat),
        "list, 50 per page": measure(client, engine, "/api/v1/workorders?limit=50", tokens["supervisor"], args.repeat),
    }
    print(f"reads on {database}: statements per request through the app, median of {args.repeat} requests in-process")
    print(f"  machine: {benchdb.machine(engine)}")
    for name, (statements, ms) in figures.items():
        print(f"  {name:24s} {statements:3d} statements   {ms:7.2f} ms")
    detail = max(figures["detail, history of 6"][0], figures["detail, history of 206"][0])
    listing = max(figures["list, 1 per page"][0], figures["list, 50 per page"][0])
    flat = figures["detail, history of 6"][0] == figures["detail, history of 206"][0] \
        and figures["list, 1 per page"][0] == figures["list, 50 per page"][0]
    print(f"  the same statements whatever the history or the page size: {'yes' if flat else 'NO'}")
    print(Target("<=", 4).line("reads_detail_statements", database.lower(), detail))
    print(Target("<=", 3).line("reads_list_statements", database.lower(), listing))


if __name__ == "__main__":
    main()
