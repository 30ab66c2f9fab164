"""Benchmark: routing a new work order with 50 rules and 500 technicians, beside a plain transition.

The repair process is published with 50 dispatch rules, the last of which matches
(an urgent elevator fault offered to the least loaded on-duty technician of a team
of 500, all on a 24-hour standby, each with some open work). Each round creates a
work order (untimed), then times:

- the routing decision (`engine.dispatch.routing.decide`): the 50 rules, who is on
  duty, each candidate's load, the order of the candidates;
- routing applied (`routing.route` and the commit): the decision again, its history
  entry, the offer (the process's `assign` fired as the system, through `check`, with
  its history, notification and SLA timers) and the offer's timer row;
- a plain transition: the offered technician's `accept` through `workorders.fire`,
  with its commit, as a request would do it.

Target: the routing decision's median under 5 ms; applied, it costs one transition more.

    python bench/dispatch.py --db sqlite --orders 300
    python bench/dispatch.py --db postgresql
"""
import argparse
import statistics
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE] + [str(_HERE)]

from sqlmodel import Session, select  # noqa: E402

import benchdb  # noqa: E402
from engine import settings  # noqa: E402
from engine.orders import workorders  # noqa: E402
from engine.published import definitions  # noqa: E402
from engine.dispatch import rotas, routing  # noqa: E402
from engine.storage.models import User, UserRole  # noqa: E402
from engine.people.users import hash_password  # noqa: E402

START = datetime(2026, 10, 18, 18, 0, tzinfo=timezone.utc)  # Monday 02:00 in Shanghai
TEAM = "电梯班"


def rules_yaml(count: int) -> str:
    """`count` rules; only the last matches an urgent elevator fault."""
    lines = ["dispatch:", "  offer: assign", "  accept: accept", "  claim: claim", "  decline: decline",
             "  withdraw: withdraw", "  rules:"]
    for index in range(count - 1):
        lines.append(f"    - {{name: r{index}, when: {{category: [plumbing], location: ['楼{index}']}}, "
                     f"team: 水电班, strategy: pool}}")
    lines.append(f"    - {{name: lift, when: {{category: [elevator], priority: [urgent]}}, team: {TEAM}, "
                 "strategy: offer, pick: least_loaded, skill: elevator, accept_within: 10m}")
    lines.append("  default: {strategy: manual}")
    return "\n".join(lines) + "\n"


def publish(engine, rules: int) -> None:
    text = (settings.definitions_dir() / "repair.yaml").read_text(encoding="utf-8")
    shipped = text[text.index("dispatch:"):text.index("# What the cockpit")]
    with Session(engine, expire_on_commit=False) as session:
        definitions.publish(session, text.replace(shipped, rules_yaml(rules) + "\n"), file="bench-repair.yaml",
                            now=START)
        session.commit()


def technicians(engine, count: int) -> None:
    """`count` technicians on the team's 24-hour standby today and yesterday."""
    hashed = hash_password("bench-password")
    with Session(engine, expire_on_commit=False) as session:
        team = rotas.ensure_team(session, TEAM)
        standby = rotas.add_shift(session, team, "standby", "08:00-08:00")
        people = [User(username=f"t{i:03d}", display_name=f"t{i:03d}", password_hash=hashed) for i in range(count)]
        session.add_all(people)
        session.flush()
        session.add_all([UserRole(user_id=user.id, role="technician") for user in people])
        for user in people:
            rotas.add_member(session, team, user, skills=["elevator"])
        for day in (date(2026, 10, 18), date(2026, 10, 19)):
            rotas.put_on(session, standby, day, people)
        session.commit()


def run(engine, actors: dict, orders: int) -> tuple[list[float], list[float], list[float]]:
    decided, routed, plain = [], [], []
    with Session(engine, expire_on_commit=False) as session:
        by_id = {user.id: user for user in session.exec(select(User)).all()}
    for index in range(orders):
        now = START + timedelta(seconds=index)
        with Session(engine, expire_on_commit=False) as session:
            order = workorders.create(session, actors["nurse"], process="repair", title="电梯困人", priority="urgent",
                                      location="住院楼", fields={"category": "building"}, now=now)  # default: manual
            order.fields = {"category": "elevator"}
            compiled = workorders.compiled_of(session, order)
            facts = routing.facts(session, priority=order.priority, department_id=order.department_id,
                                  location=order.location, fields=order.fields)
            began = time.perf_counter()
            routing.decide(session, compiled.definition.dispatch, facts, now)
            decided.append(time.perf_counter() - began)
            began = time.perf_counter()
            decision = routing.route(session, order, compiled, now)
            session.commit()
            routed.append(time.perf_counter() - began)
            assert decision is not None and decision.person is not None, decision
        tech = by_id[decision.person_id]
        actor = workorders.Actor(id=tech.id, username=tech.username, department_id=None,
                                 roles=frozenset({"technician"}))
        with Session(engine, expire_on_commit=False) as session:
            began = time.perf_counter()
            workorders.fire(session, actor, order.id, "accept", workorders.EventInput(), now=now)
            session.commit()
            plain.append(time.perf_counter() - began)
    return decided, routed, plain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="sqlite")
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--rules", type=int, default=50)
    parser.add_argument("--technicians", type=int, default=500)
    args = parser.parse_args()
    engine = benchdb.fresh(benchdb.url_for(args.db))
    actors = benchdb.people(engine, nurse=("requester", "心内科"))
    publish(engine, args.rules)
    technicians(engine, args.technicians)
    run(engine, actors, 20)  # warm-up: compiled process, statement caches
    decided, routed, plain = run(engine, actors, args.orders)
    ms = lambda values: statistics.median(values) * 1000  # noqa: E731
    p95 = lambda values: sorted(values)[int(len(values) * 0.95)] * 1000  # noqa: E731
    print(f"dispatch routing: {args.rules} rules, {args.technicians} technicians on duty, {args.orders} orders, "
          f"{benchdb.machine(engine)}")
    print(f"  routing decision (rules, on duty, loads)     median {ms(decided):6.2f} ms   p95 {p95(decided):6.2f} ms"
          "   (target < 5 ms)")
    print(f"  routing applied (decision + offer + commit)  median {ms(routed):6.2f} ms   p95 {p95(routed):6.2f} ms")
    print(f"  a plain transition (accept + commit)         median {ms(plain):6.2f} ms   p95 {p95(plain):6.2f} ms")
    print(f"  routing applied beyond one transition: {ms(routed) - ms(plain):+.2f} ms")


if __name__ == "__main__":
    main()
