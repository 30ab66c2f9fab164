"""Schema changes go through Alembic; `houqin init` and the tests both upgrade to head."""
from pathlib import Path

from alembic import command
from alembic.config import Config

from engine import settings

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", (url or settings.database_url()).replace("%", "%%"))
    return config


def upgrade(url: str | None = None) -> None:
    command.upgrade(alembic_config(url), "head")
