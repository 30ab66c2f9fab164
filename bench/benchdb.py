"""What every benchmark needs: a fresh database (SQLite or PostgreSQL), the shipped
definitions, a few people, and a description of the machine the figures came from."""
import os
import platform
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import text
from sqlmodel import Session, SQLModel

from engine.people import users  # noqa: F401  (models: registers every table)
from engine.people.users import actor_for, add_user
from engine.published import definitions  # noqa: F401  (models: registers every table)
from engine.storage import db as db_module, models  # noqa: F401  (models: registers every table)

# The database .ci/postgres.sh creates for benchmarks (the tests use houqin_test).
POSTGRES_URL = os.environ.get("HOUQIN_BENCH_DATABASE_URL", "postgresql+psycopg://houqin@127.0.0.1:5432/houqin_bench")


def url_for(db: str) -> str:
    """`sqlite` (a new file), `postgresql` (the bench database on loopback) or a full URL."""
    if db == "sqlite":
        return f"sqlite:///{Path(tempfile.mkdtemp(prefix='houqin-bench-')) / 'houqin.db'}"
    if db in ("postgresql", "postgres", "pg"):
        return POSTGRES_URL
    return db


def fresh(url: str):
    """An empty schema with the shipped definitions published; returns the engine."""
    engine = db_module.get_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    SQLModel.metadata.create_all(engine)
    with Session(engine, expire_on_commit=False) as session:
        definitions.publish_directory(session, now=datetime.now(timezone.utc))
        session.commit()
    return engine


def people(engine, **specs: tuple) -> dict:
    """people(engine, nurse=("requester", "内科"), ...) → {name: Actor}; spec is (role, department, team)."""
    users._hasher = _cheap_hasher()  # benchmarks measure work orders, not password hashing
    actors = {}
    with Session(engine, expire_on_commit=False) as session:
        for name, spec in specs.items():
            role, department, team = (*spec, None, None)[:3]
            user = add_user(session, username=name, password="bench-password", roles=[role],
                            department=department, team=team)
            session.flush()
            actors[name] = actor_for(session, user)
        session.commit()
    return actors


def _cheap_hasher():
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    return PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))


def machine(engine=None) -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown CPU")
    memory_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                     if line.startswith("MemTotal"))
    described = f"{os.cpu_count()} cores, {cpu}, {memory_kb / 1024 / 1024:.0f} GiB RAM, Python {platform.python_version()}"
    if engine is not None:
        with engine.connect() as connection:
            if engine.dialect.name == "postgresql":
                version = connection.execute(text("SHOW server_version")).scalar_one()
                described += f", PostgreSQL {version.split()[0]}"
            else:
                version = connection.execute(text("SELECT sqlite_version()")).scalar_one()
                described += f", SQLite {version}"
    return described


def database_name(engine) -> str:
    return "PostgreSQL" if engine.dialect.name == "postgresql" else "SQLite"
