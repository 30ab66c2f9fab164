"""The `houqin` command as an administrator uses it."""
import os
from pathlib import Path

import pytest
from alembic import command
from alembic.util.exc import CommandError

from engine.storage.migrate import alembic_config, upgrade
from web.cli import main

DEFINITIONS = Path(__file__).resolve().parents[1] / "definitions"


@pytest.fixture
def fresh_db(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("HOUQIN_DATABASE_URL", url)
    return url


def test_init_with_demo_creates_everything_and_can_run_twice(fresh_db, capsys):
    # A week of history: the six months of the default are the demo's own tests' (test_demo__history.py).
    assert main(["init", "--demo", "--demo-months", "0.25"]) == 0
    out = capsys.readouterr().out
    assert "published repair version 1" in out and "one-time password:" in out and "demo:" in out
    assert "demo history:" in out and "over 0.25 months" in out
    assert main(["init", "--demo"]) == 0
    again = capsys.readouterr().out
    assert "an admin already exists" in again and "published" not in again and "already present" in again

    from fastapi.testclient import TestClient

    from web.app import create_app

    client = TestClient(create_app())
    token = client.post("/api/v1/auth/token", data={"username": "dispatcher", "password": "houqin-demo"}).json()["access_token"]
    listed = client.get("/api/v1/workorders?limit=200", headers={"Authorization": f"Bearer {token}"}).json()
    assert listed["total"] >= 24
    assert {o["process"] for o in listed["items"]} >= {"repair", "procurement", "hazard", "complaint"}
    assert len({o["state"] for o in listed["items"]}) >= 5


def _scratch_postgres(url: str) -> str:
    """A new empty database beside the test database, for the migrations to build from nothing."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"{make_url(url).database}_migrations"  # beside this run's own database (conftest), as its own
    scratch = make_url(url).set(database=name)
    server = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    server.dispose()
    return scratch.render_as_string(hide_password=False)


def test_migrations_match_the_models(fresh_db):
    url = _scratch_postgres(os.environ["HOUQIN_TEST_DATABASE_URL"]) if os.environ.get("HOUQIN_TEST_DATABASE_URL") else fresh_db
    upgrade(url)
    try:
        command.check(alembic_config(url))
    except CommandError as exc:  # pragma: no cover - the message says which table or column
        pytest.fail(f"the models changed without a migration: {exc}")


def test_user_add_creates_the_department_and_signs_in(fresh_db, capsys):
    upgrade(fresh_db)
    assert main(["user", "add", "wang", "--role", "requester", "--department", "骨科", "--password", "s3cret-pass"]) == 0
    assert main(["user", "add", "wang", "--role", "requester", "--password", "s3cret-pass"]) == 1
    assert "already exists" in capsys.readouterr().err
    assert main(["user", "add", "li", "--role", "wizard", "--password", "s3cret-pass"]) == 1
    assert "unknown role wizard" in capsys.readouterr().err
    assert main(["user", "add", "zhao", "--role", "dispatcher,supervisor", "--password", "s3cret-pass"]) == 0

    from sqlmodel import Session, select

    from engine.people.users import actor_for, authenticate
    from engine.storage.db import get_engine
    from engine.storage.models import Department, User

    with Session(get_engine(fresh_db)) as session:
        wang = authenticate(session, "wang", "s3cret-pass")
        assert wang is not None and authenticate(session, "wang", "wrong") is None
        assert session.get(Department, wang.department_id).name == "骨科"
        zhao = session.exec(select(User).where(User.username == "zhao")).one()
        assert actor_for(session, zhao).roles == {"dispatcher", "supervisor"}


def test_definitions_validate_prints_file_line_column(tmp_path, capsys):
    good = DEFINITIONS / "repair.yaml"
    bad = tmp_path / "bad.yaml"
    bad.write_text(good.read_text(encoding="utf-8").replace("to: accepted", "to: acepted").replace("roles: [reporter]", "roles: [patient]"),
                   encoding="utf-8")
    assert main(["definitions", "validate", str(good)]) == 0
    assert main(["definitions", "validate", str(good), str(bad)]) == 1
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith(str(bad))]
    assert len(lines) >= 3  # every error, not just the first
    for line in lines:
        path, line_no, column, message = line.split(":", 3)
        assert int(line_no) > 1 and int(column) >= 1 and message.strip()
    assert any("unknown state 'acepted'" in line for line in lines)
    assert any("unknown role 'patient'" in line for line in lines)


def test_definitions_validate_checks_the_whole_folder_each_data_file_as_its_own_kind(tmp_path, capsys):
    everything = sorted(str(path) for path in DEFINITIONS.glob("*.yaml"))
    assert main(["definitions", "validate", *everything]) == 0
    out = capsys.readouterr().out
    assert f"{DEFINITIONS / 'calendars.yaml'}: ok" in out and f"{DEFINITIONS / 'schedules.yaml'}: ok" in out
    assert f"{DEFINITIONS / 'equipment.yaml'}: ok" in out and f"{DEFINITIONS / 'repair.yaml'}: ok" in out

    broken = tmp_path / "calendars.yaml"  # a calendars file is read as calendars, and its mistake located
    broken.write_text((DEFINITIONS / "calendars.yaml").read_text(encoding="utf-8") + "\n  oops: [\n", encoding="utf-8")
    assert main(["definitions", "validate", str(broken), str(DEFINITIONS / "repair.yaml")]) == 1
    problem = next(line for line in capsys.readouterr().out.splitlines() if line.startswith(str(broken)))
    assert int(problem.split(":")[1]) > 1
    assert main(["calendars", "check", str(DEFINITIONS / "calendars.yaml")]) == 0
