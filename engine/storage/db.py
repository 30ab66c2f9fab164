"""Database engine and sessions. SQLite is the embedded default; PostgreSQL via HOUQIN_DATABASE_URL."""
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from engine import settings

_engines: dict[str, Engine] = {}
_names: "weakref.WeakKeyDictionary[Engine, str]" = weakref.WeakKeyDictionary()


def database_of(session: Session) -> str:
    """The database a session talks to, as caches key what they keep per database (tests serve several from one
    process): its URL, rendered once per engine, since rendering it costs more than many a read."""
    bind = session.get_bind()
    name = _names.get(bind)
    if name is None:
        name = _names[bind] = str(bind.url)
    return name


def get_engine(url: str | None = None) -> Engine:
    url = url or settings.database_url()
    if url not in _engines:
        _engines[url] = _create(url)
    return _engines[url]


def _create(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        if path and path != url and not path.startswith(":memory:"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # PostgreSQL's JIT compiles any query its planner prices high, which the cockpit's aggregates
    # over years of work orders are: ~30-100 ms of compiling per query, more than running it.
    connect_args = {"options": "-c jit=off"} if url.startswith("postgresql") else {}
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True, connect_args=connect_args)


def _sqlite_pragmas(connection, _record) -> None:
    # WAL lets readers go on while one writer commits; foreign keys are off by default in SQLite.
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    with Session(get_engine(url), expire_on_commit=False) as session:
        yield session
