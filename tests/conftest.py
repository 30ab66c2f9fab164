"""Shared fixtures: a fresh database per test, a test clock, and an API client that signs people in.

The app under test gets its settings passed in, and a test that asks for `test_clock` has it
replace the app's clock dependency, so API calls and direct engine calls see the same "now".

The suite runs on SQLite by default; set HOUQIN_TEST_DATABASE_URL to a PostgreSQL URL
(e.g. postgresql+psycopg://houqin@127.0.0.1/houqin_test) to run it on PostgreSQL.
"""
import atexit
import os
from datetime import datetime, timezone

import pytest
from fastapi.testclient import TestClient
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import text
from sqlmodel import Session, SQLModel

import engine.storage.models  # noqa: F401
from engine.clock import Clock
from engine.foresight import risk
from engine.people import users
from engine.people.users import actor_for, add_user
from engine.published import definitions, versions
from engine.storage import db as db_module



def _own_database(url: str) -> str:
    """This run's own database beside the one named (houqin_test → houqin_test_<pid>), made empty now and
    dropped at exit: runs side by side on one server (two checkouts, CI beside a developer) never truncate
    each other's tables. Databases left by runs that died are dropped here too."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    named = make_url(url)
    own = f"{named.database}_{os.getpid()}"
    server = create_engine(named.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        for (name,) in connection.execute(text("SELECT datname FROM pg_database WHERE datname LIKE :pattern"),
                                          {"pattern": f"{named.database}\\_%"}):
            pid = name.rsplit("_", 1)[-1]
            if pid.isdigit() and not _running(int(pid)):
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'DROP DATABASE IF EXISTS "{own}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{own}"'))
    server.dispose()

    def drop() -> None:
        for engine in list(db_module._engines.values()):  # their pooled connections would hold the database open
            engine.dispose()
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{own}" WITH (FORCE)'))
        server.dispose()

    url_of_own = named.set(database=own).render_as_string(hide_password=False)
    atexit.register(drop)
    return url_of_own


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        pass
    return True


POSTGRES_URL = _own_database(os.environ["HOUQIN_TEST_DATABASE_URL"]) if os.environ.get("HOUQIN_TEST_DATABASE_URL") else None
if POSTGRES_URL:  # what the tests that read the variable themselves (worker processes, migrations) use too
    os.environ["HOUQIN_TEST_DATABASE_URL"] = POSTGRES_URL
# Argon2 still, with cheap parameters: the suite signs in hundreds of people.
users._hasher = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
PASSWORD = "correct-horse-battery"


_rebuilt: set[str] = set()


def _reset_postgres(url: str) -> None:
    engine = db_module.get_engine(url)
    if url not in _rebuilt:
        # Once per run, the schema of today's models: create_all alone would keep a table an
        # earlier run made without a column added since.
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        SQLModel.metadata.create_all(engine)
        _rebuilt.add(url)
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    # Versions restart at 1 with the tables, so "repair v2" may be another text than last test's:
    # forget the machines compiled for this URL (on SQLite every test has its own URL).
    definitions._compiled.clear()
    versions.forget()
    risk.forget()  # at-risk models fitted on the last test's history


@pytest.fixture
def db_url(tmp_path, monkeypatch):
    """A database with the schema and the shipped definitions published, and nothing else."""
    if POSTGRES_URL:
        url = POSTGRES_URL
        _reset_postgres(url)
    else:
        url = f"sqlite:///{tmp_path / 'houqin.db'}"
        SQLModel.metadata.create_all(db_module.get_engine(url))
    monkeypatch.setenv("HOUQIN_DATABASE_URL", url)
    with Session(db_module.get_engine(url), expire_on_commit=False) as session:
        definitions.publish_directory(session, now=datetime.now(timezone.utc))
        session.commit()
    yield url
    if not POSTGRES_URL:
        db_module._engines.pop(url).dispose()


@pytest.fixture
def session(db_url):
    with Session(db_module.get_engine(db_url), expire_on_commit=False) as session:
        yield session


@pytest.fixture
def test_clock():
    """A frozen clock; `test_clock.set(datetime)` / `.advance(minutes=...)` move it.

    The test's app reads it (see `app`); engine calls made by the test pass `test_clock.now()`.
    """
    return Clock(datetime.fromisoformat("2026-10-12T09:00:00+08:00"))  # a Monday, working hours


def clock_for(request) -> Clock | None:
    """The test's frozen clock when it asked for one (directly or through another fixture)."""
    return request.getfixturevalue("test_clock") if "test_clock" in request.fixturenames else None


@pytest.fixture
def make_user(session):
    """make_user("tech", "technician", department="后勤保障部") → the engine's Actor for that user."""

    def make(username: str, *roles: str, department: str | None = None, team: str | None = None):
        user = add_user(session, username=username, password=PASSWORD, roles=list(roles) or ["requester"],
                        department=department, team=team)
        session.commit()
        return actor_for(session, user)

    return make


class Api:
    """A TestClient that knows everybody's token: `api.as_("nurse").post(...)`."""

    def __init__(self, client: TestClient, make_user):
        self.client = client
        self.make_user = make_user
        self.tokens: dict[str, str] = {}

    def user(self, username: str, *roles: str, department: str | None = None, team: str | None = None):
        actor = self.make_user(username, *roles, department=department, team=team)
        response = self.client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
        assert response.status_code == 200, response.text
        self.tokens[username] = response.json()["access_token"]
        return actor

    def as_(self, username: str) -> "_As":
        return _As(self.client, {"Authorization": f"Bearer {self.tokens[username]}"})

    def new_order(self, username: str, process: str = "repair", **body) -> dict:
        body.setdefault("title", "水龙头漏水")
        body.setdefault("fields", {"category": "plumbing"} if process == "repair" else {})
        response = self.as_(username).post("/api/v1/workorders", json={"process": process, **body})
        assert response.status_code == 201, response.text
        return response.json()

    def fire(self, username: str, order_id: int, event: str, expect: int = 200, **body) -> dict:
        response = self.as_(username).post(f"/api/v1/workorders/{order_id}/events/{event}", json=body)
        assert response.status_code == expect, response.text
        return response.json()


class _As:
    def __init__(self, client: TestClient, headers: dict):
        self.client, self.headers = client, headers

    def __getattr__(self, method):
        def call(url, **kwargs):
            kwargs["headers"] = {**self.headers, **kwargs.get("headers", {})}
            return getattr(self.client, method)(url, **kwargs)

        return call


@pytest.fixture
def app(db_url, request):
    from engine.settings import Settings
    from web.app import create_app
    from web.deps import get_clock

    app = create_app(Settings(database_url=db_url, test_clock=True))
    clock = clock_for(request)
    if clock is not None:
        app.dependency_overrides[get_clock] = lambda: clock
    return app


@pytest.fixture
def api(app, make_user):
    """The API as an English-reading client: the suite pins the English texts of refusals (a caller without
    Accept-Language reads Chinese; tests of the languages send their own header, or none)."""
    with TestClient(app, headers={"Accept-Language": "en"}) as client:
        yield Api(client, make_user)
