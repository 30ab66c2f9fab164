"""Benchmark: the API under 50 concurrent clients, against a bare FastAPI endpoint on the same server.

Starts uvicorn on loopback with Houqin's app plus two bench-only routes that touch no
database (`/bench/bare/...`), then drives each with wrk (Debian: `apt-get install wrk`) for
a fixed time:

- GET  /api/v1/workorders/{id}               a technician reads work orders (full detail:
                                             timers, history, the events they may fire)
- POST /api/v1/workorders/{id}/events/reassign   a dispatcher hands assigned work to another
                                             technician: a real transition each time (state,
                                             history, timers, the new assignee's notification)
- the same two shapes on the bare routes: the ceiling this server, framework and machine allow.

The four shapes take turns in rounds (`--rounds`, default 3), so drift on a shared machine hits
Houqin and the bare routes alike. Reports requests/s over all rounds, the median of the rounds' p50
and p99 latencies (each round's range beside them), and the ratio bare/Houqin in throughput.

    python bench/api_load.py --db postgresql --duration 15 --connections 50 --workers 2
"""
import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

# bench/transitions.py shares its name with the state-machine library: keep bench/ last on the
# path so the engine imports the library, and `benchdb` is still found.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE] + [str(_HERE)]

from pydantic import BaseModel, ConfigDict  # noqa: E402

SECRET = "houqin-bench-secret-key-not-for-production"
# Per wrk thread, this many work orders are reassigned in turn: far more than the requests a
# thread has in flight, so two requests never race for the same work order (that would be a
# 409 from the optimistic lock, not a measure of speed). `reassign` goes from `assigned` back to
# `assigned`, so a request that wrk generates but never sends leaves nothing out of step.
ORDERS_PER_THREAD = 200
READ_ORDERS = 200


# --- the server side: Houqin's app with two bare routes added (bench only) ----------------------

class BareEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    comment: str = ""
    assignee: str | None = None
    fields: dict = {}


def bench_app():
    """uvicorn factory: `bench.api_load:bench_app`."""
    from web.app import create_app

    app = create_app()

    @app.get("/bench/bare/{order_id}")
    def bare_get(order_id: int) -> dict:
        return {"id": order_id, "state": "in_progress", "title": "水龙头漏水"}

    @app.post("/bench/bare/{order_id}/events/{event}")
    def bare_post(order_id: int, event: str, body: BareEvent) -> dict:
        return {"id": order_id, "event": event, "assignee": body.assignee}

    return app


# --- the data ---------------------------------------------------------------------------------

def prepare(url: str, threads: int, rounds: int) -> dict:
    """Work orders to read (in progress, assigned to `tech`) and to reassign (assigned): each round reassigns its
    own, so every round's first pass finds them with `tech` as the last one left them."""
    import benchdb
    from sqlmodel import Session

    from engine.orders import workorders
    from engine.orders.workorders import EventInput
    from engine.storage.unit_of_work import unit_of_work
    from web.security import issue_token

    engine = benchdb.fresh(url)
    actors = benchdb.people(engine, nurse=("requester", "内科"), dispatcher=("dispatcher",),
                            tech=("technician", "后勤保障部", "水电班"), tech2=("technician", "后勤保障部", "水电班"))
    now = datetime.now(timezone.utc)
    ids = []
    for number in range(READ_ORDERS + ORDERS_PER_THREAD * threads * rounds):
        with Session(engine, expire_on_commit=False) as session, unit_of_work(session):
            order = workorders.create(session, actors["nurse"], process="repair", title="水龙头漏水", location="3F 护士站",
                                      fields={"category": "plumbing"}, now=now)
            workorders.fire(session, actors["dispatcher"], order.id, "assign", EventInput(assignee="tech"), now)
            if number < READ_ORDERS:
                workorders.fire(session, actors["tech"], order.id, "accept", EventInput(), now)
                workorders.fire(session, actors["tech"], order.id, "start", EventInput(), now)
            ids.append(order.id)
    with Session(engine) as session:
        tokens = {name: issue_token(session, name, 0) for name in ("tech", "dispatcher")}  # new users: epoch 0
    return {"engine": engine, "read": ids[:READ_ORDERS], "write": ids[READ_ORDERS:], "tokens": tokens}


# --- wrk ----------------------------------------------------------------------------------------

LUA_COMMON = """
local token = "%(token)s"
local counter = 0
local next_thread = 0
local threads = {}
failures = ""
function setup(thread)
  thread:set("thread_index", next_thread)
  next_thread = next_thread + 1
  table.insert(threads, thread)
end
function response(status, headers, body)
  if status >= 300 and #failures < 2000 then
    failures = failures .. status .. " " .. string.sub(body, 1, 200) .. " | "
  end
end
function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    local seen = thread:get("failures")
    if seen ~= "" then io.write("FAILED " .. seen .. "\\n") end
  end
  io.write(string.format('RESULT {"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p99_us": %%d, ' ..
    '"non_2xx": %%d, "socket_errors": %%d}\\n', summary.requests, summary.duration, latency:percentile(50),
    latency:percentile(99), summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""

LUA_GET = LUA_COMMON + """
local first, count = %(first)d, %(count)d
request = function()
  counter = counter + 1
  local id = first + (counter %% count)
  return wrk.format("GET", "%(path)s" .. id, {["Authorization"] = "Bearer " .. token})
end
"""

LUA_POST = LUA_COMMON + """
local first, per_thread = %(first)d, %(per_thread)d
local bodies = {'{"assignee": "tech2", "comment": "换人"}', '{"assignee": "tech", "comment": "换回"}'}
request = function()
  local slot = counter %% per_thread
  local pass = math.floor(counter / per_thread)
  counter = counter + 1
  local id = first + thread_index * per_thread + slot
  return wrk.format("POST", "%(path)s" .. id .. "/events/reassign",
    {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}, bodies[pass %% 2 + 1])
end
"""


def run_wrk(base: str, script: str, *, threads: int, connections: int, duration: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        out = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "10s", "-s", handle.name, base],
            capture_output=True, text=True, check=True, timeout=duration + 60,
        ).stdout
    finally:
        os.unlink(handle.name)
    result = json.loads(next(line for line in out.splitlines() if line.startswith("RESULT ")).removeprefix("RESULT "))
    for line in out.splitlines():
        if line.startswith("FAILED "):
            print(f"  failed responses: {line.removeprefix('FAILED ')[:1000]}", file=sys.stderr)
    result["per_s"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


# --- the server process ---------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str, port: int, workers: int) -> subprocess.Popen:
    env = {**os.environ, "HOUQIN_DATABASE_URL": url, "HOUQIN_SECRET_KEY": SECRET}
    env.pop("HOUQIN_SWEEPER", None)  # nothing else competing for the cores while we measure
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--app-dir", str(_HERE.parent), "bench.api_load:bench_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), "--log-level", "warning",
         "--no-access-log"],
        env=env, start_new_session=True,  # its own process group: stopping it stops its workers too
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/bench/bare/1", timeout=2) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("the server did not answer within 60 s")


def stop_server(server: subprocess.Popen) -> None:
    """uvicorn and its workers; a worker that hangs (e.g. waiting for a database connection) is killed."""
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(server.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # every process of the group already ended
    server.wait()


def _combined(runs: list[dict]) -> dict:
    """The rounds of one shape: throughput over all of them, the median of their latencies, every failure."""
    requests, seconds = sum(r["requests"] for r in runs), sum(r["duration_us"] for r in runs) / 1e6
    return {"requests": requests, "per_s": requests / seconds,
            "p50_us": statistics.median(r["p50_us"] for r in runs), "p99_us": statistics.median(r["p99_us"] for r in runs),
            "p99_spread": (min(r["p99_us"] for r in runs), max(r["p99_us"] for r in runs)),
            "per_s_spread": (min(r["per_s"] for r in runs), max(r["per_s"] for r in runs)),
            "non_2xx": sum(r["non_2xx"] for r in runs), "socket_errors": sum(r["socket_errors"] for r in runs)}


# --- the targets ----------------------------------------------------------------------------------

def _verdicts(results: dict) -> list:
    """(name, value, target): the detail route at half the bare route's throughput or more with p99 under
    100 ms, firing events with p99 under 200 ms."""
    from targets import Target
    return [
        ("api_detail_vs_bare", results["GET houqin"]["per_s"] / results["GET bare"]["per_s"], Target(">=", 0.5)),
        ("api_detail_p99_ms", results["GET houqin"]["p99_us"] / 1000, Target("<", 100)),
        ("api_event_p99_ms", results["POST houqin"]["p99_us"] / 1000, Target("<", 200)),
    ]


# --- the run --------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="postgresql", help="postgresql (the bench database on loopback), sqlite or a URL")
    parser.add_argument("--duration", type=int, default=15, help="seconds of each shape, over all rounds (default 15)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="Houqin and the bare routes take turns this many times, so drift hits both alike (default 3)")
    parser.add_argument("--connections", type=int, default=50, help="concurrent clients (default 50)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="uvicorn worker processes (default: cores)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    args = parser.parse_args()
    if args.rounds < 1 or args.duration < args.rounds:
        parser.error("--rounds must be 1 or more, and --duration at least one second per round")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    os.environ["HOUQIN_SECRET_KEY"] = SECRET  # tokens issued here are checked by the server

    import benchdb

    url = benchdb.url_for(args.db)
    data = prepare(url, args.threads, args.rounds)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(url, port, args.workers)
    load = {"threads": args.threads, "connections": args.connections}
    try:
        read = {"token": data["tokens"]["tech"], "first": data["read"][0], "count": len(data["read"])}
        write = {"token": data["tokens"]["dispatcher"], "first": data["write"][0], "per_thread": ORDERS_PER_THREAD}
        orders_per_round = ORDERS_PER_THREAD * args.threads
        for path in ("/api/v1/workorders/", "/bench/bare/"):  # warm every worker up
            run_wrk(base, LUA_GET % {**read, "path": path}, **load, duration=3)
        shapes = {
            "GET houqin": lambda _: LUA_GET % {**read, "path": "/api/v1/workorders/"},
            "GET bare": lambda _: LUA_GET % {**read, "path": "/bench/bare/"},
            "POST houqin": lambda turn: LUA_POST % {**write, "first": write["first"] + turn * orders_per_round,
                                                    "path": "/api/v1/workorders/"},
            "POST bare": lambda _: LUA_POST % {**write, "path": "/bench/bare/"},
        }
        each = max(args.duration // args.rounds, 1)
        runs: dict[str, list] = {name: [] for name in shapes}
        for turn in range(args.rounds):  # one shape after the other, in rounds
            for name, script in shapes.items():
                runs[name].append(run_wrk(base, script(turn), **load, duration=each))
        results = {name: _combined(found) for name, found in runs.items()}
    finally:
        stop_server(server)

    print(f"API on {benchdb.database_name(data['engine'])}: uvicorn with {args.workers} worker(s), wrk {args.threads} threads, "
          f"{args.connections} connections, {args.rounds} rounds of {each} s per shape, loopback "
          f"(throughput over all rounds, the rounds' median latencies, each round's range in brackets)")
    print(f"  machine: {benchdb.machine(data['engine'])}")
    failed = False
    for name, r in results.items():
        bad = r["non_2xx"] + r["socket_errors"]
        failed |= bad > 0
        low, high = r["per_s_spread"]
        print(f"  {name:12s} {r['per_s']:8.0f} req/s ({low:.0f}-{high:.0f})   p50 {r['p50_us'] / 1000:7.1f} ms   "
              f"p99 {r['p99_us'] / 1000:7.1f} ms ({r['p99_spread'][0] / 1000:.0f}-{r['p99_spread'][1] / 1000:.0f})"
              + (f"   {bad} FAILED requests" if bad else ""))
    for kind, what in (("GET", "read a work order"), ("POST", "fire an event")):
        ratio = results[f"{kind} bare"]["per_s"] / results[f"{kind} houqin"]["per_s"]
        print(f"  {kind} ({what}): bare endpoint / Houqin = {ratio:.1f}x in throughput")
    database = benchdb.database_name(data["engine"]).split()[0].lower()
    for name, value, target in _verdicts(results):
        print(target.line(name, database, value))
    if failed:
        raise SystemExit("some requests failed: see above")


if __name__ == "__main__":
    main()
