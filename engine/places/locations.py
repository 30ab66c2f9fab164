"""The location tree: campus → building → floor → room or area, each node with a code and a name.

A node keeps the ids from the root down (`path`, "/1/4/17/") and its names the same way
(`full_name`, "本部 / 住院楼 / 5F / 512病房"), so a building with all its floors and rooms is one
prefix match, and a list of work orders names their places with one query.
"""
from sqlalchemy import ColumnElement
from sqlmodel import Session, select

from engine.errors import Invalid
from engine.storage.models import Location

KINDS = ("campus", "building", "floor", "room", "area")
SEPARATOR = " / "


def add(session: Session, *, code: str, name: str, kind: str, parent: Location | None = None) -> Location:
    """A new node under `parent` (None: a root). Checked here: every way in (API, page, import) gets the same rules."""
    code, name = code.strip(), name.strip()
    problems = []
    if not code or len(code) > 64:
        problems.append({"field": "code", "message": "a location's code is 1-64 characters"})
    if not name or len(name) > 100:
        problems.append({"field": "name", "message": "a location's name is 1-100 characters"})
    if kind not in KINDS:
        problems.append({"field": "kind", "message": f"kind must be one of {', '.join(KINDS)}"})
    if code and session.exec(select(Location.id).where(Location.code == code)).first() is not None:
        problems.append({"field": "code", "message": f"a location with code '{code}' already exists"})
    if parent is not None and len(parent.path) > 360:
        problems.append({"field": "parent", "message": "the tree is nested too deep under that parent"})
    if problems:
        raise Invalid("; ".join(p["message"] for p in problems), problems)
    node = Location(code=code, name=name, kind=kind, parent_id=parent.id if parent else None,
                    depth=parent.depth + 1 if parent else 0,
                    full_name=f"{parent.full_name}{SEPARATOR}{name}" if parent else name)
    session.add(node)
    session.flush()  # the id goes into the path
    node.path = f"{parent.path if parent else '/'}{node.id}/"
    session.add(node)
    return node


def get(session: Session, location_id: int, field: str = "location_id") -> Location:
    node = session.get(Location, location_id)
    if node is None or not node.active:
        raise Invalid(f"location {location_id} does not exist", [{"field": field, "message": "no such location"}])
    return node


def within(column, session: Session, location_id: int) -> ColumnElement[bool]:
    """`column` (a location id) is the node `location_id` or anywhere under it: a building includes its rooms."""
    node = session.get(Location, location_id)
    if node is None:
        return column == -1
    return column.in_(select(Location.id).where(Location.path.startswith(node.path, autoescape=True)))


def full_names(session: Session, ids: set) -> dict[int, str]:
    """The places' full names, in one query."""
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return dict(session.exec(select(Location.id, Location.full_name).where(Location.id.in_(ids))).all())


def upper_levels(session: Session, deepest: int = 2) -> list[tuple[int, str, str]]:
    """(id, code, full name) of the campuses, buildings and floors (depth 0-2), in tree order: what a
    report's figures are narrowed to."""
    rows = session.exec(select(Location.id, Location.code, Location.full_name, Location.path)
                        .where(Location.active == True, Location.depth <= deepest)).all()  # noqa: E712
    return [(node_id, code, name) for node_id, code, name, _ in sorted(rows, key=lambda row: _path_key(row[3]))]


def _path_key(path: str) -> list[int]:
    return [int(part) for part in path.strip("/").split("/") if part]
