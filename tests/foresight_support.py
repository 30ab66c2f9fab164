"""The demo hospital with six months of history, built once per test run, for tests that only read it.

    from foresight_support import demo_history  # noqa: F401  (the fixture)

    def test_something(demo_history):
        with demo_history.session() as session:
            ...  # read; never commit (other tests share the database)
        demo_history.url   # the SQLite URL, e.g. for a TestClient's settings
        demo_history.now   # the demo's "now": 2026-11-30 10:00 Asia/Shanghai (a Monday)

It is `houqin init --demo` with `--demo-months 6 --demo-seed 2026` at NOW: the shipped definitions,
calendars and schedule published, the demo people, places and today's work orders, and the history under
them. Always SQLite, in its own file, whatever HOUQIN_TEST_DATABASE_URL says: it is built once and read by
many tests, where the per-test PostgreSQL database is emptied before each test.

A test that must write (fire an event, run a sweep) uses `demo_history.copy(tmp_path)`: a copy of the
database file of its own, (url, now) as the fixture gives them.
"""
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from engine.storage import db as db_module

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
MONTHS = 6
SEED = 2026
_built: dict[str, "DemoHistory"] = {}  # one database per run, however many modules import the fixture


@dataclass(frozen=True)
class DemoHistory:
    url: str
    now: datetime
    path: Path

    def session(self) -> Session:
        """A session on the demo database (use it in a `with`; read only)."""
        return Session(db_module.get_engine(self.url), expire_on_commit=False)

    def copy(self, directory: Path) -> "DemoHistory":
        """The same database in a file of the caller's, to write to."""
        target = Path(directory) / "demo-history.db"
        shutil.copyfile(self.path, target)
        return DemoHistory(f"sqlite:///{target}", self.now, target)


def build(path: Path, *, now: datetime = NOW, months: float = MONTHS, seed: int = SEED) -> DemoHistory:
    """What `houqin init --demo --demo-months M --demo-seed S` writes, into a new SQLite file at `path`."""
    from engine.demo import create_database

    url = f"sqlite:///{path}"
    create_database(url, now, months=months, seed=seed)
    return DemoHistory(url, now, path)


@pytest.fixture(scope="session")
def demo_history(tmp_path_factory) -> DemoHistory:
    if "built" not in _built:
        _built["built"] = build(tmp_path_factory.mktemp("demo-history") / "houqin.db")
    return _built["built"]
