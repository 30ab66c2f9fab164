"""Configuration from the environment, read once."""
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def database_url() -> str:
    return os.environ.get("HOUQIN_DATABASE_URL") or f"sqlite:///{ROOT / 'var' / 'houqin.db'}"


def definitions_dir() -> Path:
    return Path(os.environ.get("HOUQIN_DEFINITIONS", ROOT / "definitions"))


def data_dir() -> Path:
    return Path(os.environ.get("HOUQIN_DATA_DIR", ROOT / "var"))


def test_clock_enabled() -> bool:
    return os.environ.get("HOUQIN_TEST_CLOCK") == "1"


def timezone() -> str:
    """The hospital's local time zone: work order numbers carry the local year."""
    return os.environ.get("HOUQIN_TIMEZONE", "Asia/Shanghai")
