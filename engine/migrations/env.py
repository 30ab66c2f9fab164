"""Alembic environment: the schema is the SQLModel metadata of engine.storage.models."""
from alembic import context
from sqlmodel import SQLModel

import engine.storage.models  # noqa: F401  (registers the tables)
from engine.storage.db import get_engine

config = context.config


def run_migrations_online() -> None:
    with get_engine(config.get_main_option("sqlalchemy.url")).connect() as connection:
        context.configure(connection=connection, target_metadata=SQLModel.metadata,
                          render_as_batch=True, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
