"""Upgrading a database fills in the cockpit's facts of the work orders it already holds (migration 0013), as
the steps would have written them: the feedback reached, the deadline missed, each step's labour."""
import os
from datetime import datetime, timedelta

from alembic import command
from sqlalchemy import create_engine, insert, select, update
from sqlmodel import Session

from engine.orders import workorders
from engine.orders.workorders import EventInput
from engine.people.users import actor_for, add_user
from engine.published import definitions
from engine.storage.migrate import alembic_config, upgrade
from engine.storage.models import History, WorkOrder
from test_cli import _scratch_postgres, fresh_db  # noqa: F401  (the fixture)

MONDAY = datetime.fromisoformat("2026-10-12T09:00:00+08:00")


def _life(session: Session, now: datetime) -> dict[str, int]:
    """Two repairs: one resolved with labour, confirmed, its response accepted late; one never resolved."""
    people = {}
    for name, role in (("nurse", "requester"), ("desk", "dispatcher"), ("tech", "technician")):
        people[name] = actor_for(session, add_user(session, username=name, password="a-long-password", roles=[role],
                                                   department="后勤保障部" if role != "requester" else "心内科"))
    done = workorders.create(session, people["nurse"], process="repair", title="漏水", priority="urgent",
                              fields={"category": "plumbing"}, now=now)
    left = workorders.create(session, people["nurse"], process="repair", title="灯坏了", fields={"category": "electrical"}, now=now)
    steps = [("desk", "assign", EventInput(assignee="tech")), ("tech", "accept", EventInput()),
             ("tech", "start", EventInput()), ("tech", "resolve", EventInput(fields={"labour_minutes": 45})),
             ("nurse", "confirm", EventInput())]
    for minutes, (who, event, given) in enumerate(steps):
        workorders.fire(session, people[who], done.id, event, given, now=now + timedelta(minutes=30 + minutes))
    workorders.fire(session, people["desk"], left.id, "assign", EventInput(assignee="tech"), now=now)
    # A step stored before numbers were bounded: no labour anyone can add up.
    session.execute(insert(History).values(work_order_id=left.id, at=now, actor_id=people["tech"].id, kind="transition",
                                           event="hold", data={"fields": {"labour_minutes": 1e300}}))
    session.commit()
    return {"done": done.id, "left": left.id}


def _facts(engine) -> tuple:
    with engine.connect() as connection:
        orders = connection.execute(select(WorkOrder.id, WorkOrder.reached_feedback, WorkOrder.deadline_missed)
                                    .order_by(WorkOrder.id)).all()
        labour = connection.execute(select(History.work_order_id, History.event, History.labour_minutes)
                                    .where(History.labour_minutes.is_not(None))).all()
    return [tuple(row) for row in orders], [tuple(row) for row in labour]


def test_an_upgrade_fills_in_the_facts_the_steps_would_have_written(fresh_db):  # noqa: F811
    url = _scratch_postgres(os.environ["HOUQIN_TEST_DATABASE_URL"]) if os.environ.get("HOUQIN_TEST_DATABASE_URL") else fresh_db
    upgrade(url)
    engine = create_engine(url)
    with Session(engine, expire_on_commit=False) as session:
        definitions.publish_directory(session, now=MONDAY)
        ids = _life(session, MONDAY)
    written = _facts(engine)
    assert written == ([(ids["done"], True, True), (ids["left"], False, False)], [(ids["done"], "resolve", 45.0)])

    # As a database from before the facts: the columns gone, then added back by the upgrade and filled in.
    with engine.begin() as connection:
        connection.execute(update(WorkOrder).values(reached_feedback=False, deadline_missed=False))
    command.downgrade(alembic_config(url), "0012")
    command.upgrade(alembic_config(url), "head")
    assert _facts(engine) == written
    engine.dispose()
