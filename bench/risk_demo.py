"""The demo hospital's history in a SQLite file, for the at-risk benchmarks (as `houqin init --demo` writes it)."""
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from engine.demo import create_database

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
SEED = 2026


def build(path: Path, *, months: float, now: datetime = NOW, seed: int = SEED) -> str:
    path.unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    create_database(url, now, months=months, seed=seed)
    return url
