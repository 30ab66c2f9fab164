"""The demo hospital's history in a SQLite file, for the at-risk benchmarks (as `houqin init --demo` writes it)."""
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import Session, SQLModel

from engine.demo import load_demo
from engine.orders import recurring
from engine.published import definitions
from engine.storage import db
from engine.storage.unit_of_work import unit_of_work

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
SEED = 2026


def build(path: Path, *, months: float, now: datetime = NOW, seed: int = SEED) -> str:
    path.unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    SQLModel.metadata.create_all(db.get_engine(url))
    with Session(db.get_engine(url), expire_on_commit=False) as session:
        with unit_of_work(session):
            definitions.publish_directory(session, now=now)
            recurring.publish_file(session, now=now)
        with unit_of_work(session):
            load_demo(session, now, months=months, seed=seed)
    return url
