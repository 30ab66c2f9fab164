"""Published process definitions: versions stored with their YAML, compiled once per version.

Publishing a changed text creates a new version; a work order keeps the version
it started on, so editing a process never changes the rules under running work.
"""
import hashlib
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from engine import settings
from engine.errors import Conflict, NotFound
from engine.published.versions import once
from engine.sla import calendar
from engine.storage import db
from engine.storage.models import Definition
from workflows import ProcessDefinition, load_definition
from workflows.machine import CompiledProcess

# Files in definitions/ that are data of their own, not processes.
DATA_FILES = ("calendars", "schedules", "equipment", "targets", "appraisal")
_compiled: dict[tuple[str, str, int], CompiledProcess] = {}
_by_text: dict[str, CompiledProcess] = {}  # by checksum


def calendar_names(session: Session | None = None) -> set[str]:
    """The calendars a definition may name: the newest published version's, or without a
    database (`houqin definitions validate`) the calendars file's."""
    return calendar.names(session) if session is not None else set(calendar.file_calendars())


def parse(text: str, file: str = "<definition>", session: Session | None = None) -> ProcessDefinition:
    """Check a definition as publishing would; raises workflows.DefinitionError."""
    return _checked(text, file, frozenset(calendar_names(session)))


@lru_cache(maxsize=32)
def _checked(text: str, file: str, calendars: frozenset[str]) -> ProcessDefinition:
    # Reading YAML with every node's position is most of a publish: the same text checked against the same
    # calendars (the shipped files at every start, a draft previewed again) is read once. Errors are not kept.
    return load_definition(text, file, set(calendars))


def publish(session: Session, text: str, *, now: datetime, file: str = "<definition>",
            actor_id: int | None = None) -> tuple[Definition, bool]:
    """Store `text` as the next version of its process. Returns (row, created); unchanged text creates nothing.

    Two designers publishing the same process at once: the second loses the race for the version number
    (unique per process) and is told to reload, as with a work order.
    """
    definition = parse(text, file, session)
    checksum = hashlib.sha256(text.encode()).hexdigest()
    current = latest(session, definition.key)
    if current is not None and current.checksum == checksum:
        return current, False
    row = Definition(
        key=definition.key, version=(current.version + 1) if current else 1, yaml_text=text,
        checksum=checksum, published_at=now, published_by=actor_id,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("published_meanwhile", process=definition.key) from None
    return row, True


def publish_directory(session: Session, directory: Path | None = None, *, now: datetime) -> list:
    """Publish what changed in `definitions/`: the calendars first (processes name them), then every
    process file. Returns the new versions (each has `key` and `version`); does not commit.
    The schedule is published by `houqin init` and the workers (engine/orders/recurring.py)."""
    directory = directory or settings.definitions_dir()
    created = []
    calendars_file = calendar.calendar_file() if directory == settings.definitions_dir() else directory / "calendars.yaml"
    if calendars_file.exists():
        row, new = calendar.publish_file(session, calendars_file, now=now)
        created += [row] if new else []
    for path in sorted(directory.glob("*.yaml")):
        if path.stem in DATA_FILES:
            continue
        row, new = publish(session, path.read_text(encoding="utf-8"), file=str(path), now=now)
        if new:
            created.append(row)
    return created


def latest(session: Session, key: str) -> Definition | None:
    return session.exec(select(Definition).where(Definition.key == key)
                        .order_by(Definition.version.desc()).limit(1)).first()


def latest_version(session: Session, key: str) -> int | None:
    """The version new work orders of `key` follow (None: no such process), without reading its text: each
    filing asks."""
    return session.exec(select(func.max(Definition.version)).where(Definition.key == key)).one()


def current_rows(session: Session) -> list[Definition]:
    newest = select(Definition.key, func.max(Definition.version).label("version")).group_by(Definition.key).subquery()
    return list(session.exec(
        select(Definition).join(newest, (Definition.key == newest.c.key) & (Definition.version == newest.c.version))
        .order_by(Definition.key)
    ).all())


def versions(session: Session, key: str) -> list[Definition]:
    return list(session.exec(select(Definition).where(Definition.key == key).order_by(Definition.version)).all())


def row(session: Session, key: str, version: int | None = None) -> Definition:
    found = latest(session, key) if version is None else session.exec(
        select(Definition).where(Definition.key == key, Definition.version == version)).first()
    if found is None:
        raise NotFound("no_process_version", process=key, version=version) if version else NotFound("no_process", process=key)
    return found


def compiled(session: Session, key: str, version: int) -> CompiledProcess:
    """The machine for one stored version, compiled on first use and kept (versions never change).

    Kept by the text's checksum too, so the same text stored in another database (each test's,
    or a restored copy) is not compiled again.
    """
    cache_key = (db.database_of(session), key, version)  # one process may serve several databases (tests)
    cached = _compiled.get(cache_key)
    if cached is not None:
        return cached
    stored = row(session, key, version)
    # Stored text was valid when published; calendars are not re-checked here.
    machine = once(_by_text, stored.checksum,
                   lambda: CompiledProcess(load_definition(stored.yaml_text, f"{key}@v{version}")))
    _compiled[cache_key] = machine
    return machine
