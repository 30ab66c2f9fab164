"""Alembic environment: the schema is the SQLModel metadata of engine.storage.models."""
from alembic import context
from sqlmodel import SQLModel

import engine.storage.models  # noqa: F401  (registers the tables)
from engine.storage.db import get_engine

config = context.config


def run_migrations_online() -> None:
    with get_engine(config.get_main_option("sqlalchemy.url")).connect() as connection:
        if connection.dialect.name == "sqlite":
            # A batch change on SQLite copies the table and drops the old one, which the rows pointing at it would
            # forbid; the copy keeps every key, so the check is off while migrating (outside any transaction).
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        context.configure(connection=connection, target_metadata=SQLModel.metadata,
                          render_as_batch=True, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
        if connection.dialect.name == "sqlite":  # the connection goes back to the pool: as every other one
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()


run_migrations_online()
