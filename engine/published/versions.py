"""Calendars and schedules as versioned data: stored when their text changes, compiled once per version.

Like process definitions (engine/published/definitions.py): each changed text is a new
version with its checksum, never edited afterwards, so whatever was computed on
a version (a timer's due time) can be computed again on the same rules. A
version is compiled on first use and kept: the sweep and the pages look it up
by number and never read or parse a file.

A file is published at `houqin init`, when `serve` and `worker` start, by the
`publish` commands, and on a worker round when the file on disk has changed
since this process last looked (a `stat`, not a read, per round).
"""
import hashlib
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from engine.errors import NotFound
from engine.storage import db
from engine.storage.models import DataVersion
from engine.storage.unit_of_work import reading, unit_of_work

_compiled: dict[tuple[str, str, int], Any] = {}
_by_text: dict[tuple[str, str], Any] = {}  # (key, checksum): what a text compiles to never changes
_lock = threading.Lock()
_oldest: dict[tuple[str, str], int] = {}
_seen: dict[tuple[str, str], tuple[float, int]] = {}  # (database, path) -> (mtime, size) last published


def latest(session: Session, key: str) -> DataVersion | None:
    return session.exec(select(DataVersion).where(DataVersion.key == key).order_by(DataVersion.version.desc())).first()


def newest(session: Session, key: str) -> int | None:
    """The newest version number of `key`, or None when nothing is stored."""
    with reading(session, DataVersion):
        return session.exec(select(func.max(DataVersion.version)).where(DataVersion.key == key)).one()


def oldest(session: Session, key: str) -> int | None:
    """The first version number of `key` (kept once known: versions are never deleted)."""
    memo = (db.database_of(session), key)
    if memo not in _oldest:
        found = session.exec(select(func.min(DataVersion.version)).where(DataVersion.key == key)).one()
        if found is None:
            return None
        _oldest[memo] = found
    return _oldest[memo]


def row(session: Session, key: str, version: int) -> DataVersion:
    found = session.exec(select(DataVersion).where(DataVersion.key == key, DataVersion.version == version)).first()
    if found is None:
        raise NotFound("no_data_version", key=key, version=version)
    return found


def store(session: Session, key: str, text: str, *, now: datetime, actor_id: int | None = None) -> tuple[DataVersion, bool]:
    """Add `text` as the next version of `key` (already checked by the caller); unchanged text adds nothing."""
    checksum = hashlib.sha256(text.encode()).hexdigest()
    current = latest(session, key)
    if current is not None and current.checksum == checksum:
        return current, False
    stored = DataVersion(key=key, version=(current.version + 1) if current else 1, text=text, checksum=checksum,
                         published_at=now, published_by=actor_id)
    session.add(stored)
    session.flush()
    return stored, True


def compiled(session: Session, key: str, version: int, build: Callable[[str, str], Any]) -> Any:
    """`build(text, name)` of one stored version, on first use; kept, since versions never change."""
    cache_key = (db.database_of(session), key, version)  # one process may serve several databases (tests)
    cached = _compiled.get(cache_key)
    if cached is None:
        stored = row(session, key, version)  # the same text in another database is compiled once
        cached = _compiled[cache_key] = once(_by_text, (key, stored.checksum),
                                             lambda: build(stored.text, f"{key}@v{version}"))
    return cached


def once(cache: dict, key: Any, build: Callable[[], Any]) -> Any:
    """`cache[key]`, built on first use, once however many threads ask (definitions use it too)."""
    cached = cache.get(key)
    if cached is not None:
        return cached
    with _lock:
        if key not in cache:
            cache[key] = build()
    return cache[key]


def forget() -> None:
    """Drop every compiled version (a test database whose tables were emptied restarts at version 1)."""
    _compiled.clear()
    _oldest.clear()
    _seen.clear()


def publish_changed_file(session: Session, key: str, path: Path, publish: Callable[..., Any], *, now: datetime) -> bool:
    """Publish `path` with `publish(session, text, file, now=now)` if it changed on disk since this process last did.

    One unit of work of its own. Several workers seeing the same change race for the same version number: the
    losers roll back and find it published. Returns whether a new version was stored.
    """
    try:
        stat = path.stat()
    except OSError:
        return False  # no file: the last published version stays in force
    seen_key = (db.database_of(session), str(path))
    mark = (stat.st_mtime, stat.st_size)
    if _seen.get(seen_key) == mark:
        return False
    _seen[seen_key] = mark  # a file with mistakes is reported once, not on every round
    try:
        with unit_of_work(session):
            _, created = publish(session, path.read_text(encoding="utf-8"), str(path), now=now)
    except IntegrityError:
        session.rollback()
        created = False
    return created
