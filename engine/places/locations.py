"""The location tree: campus → building → floor → room or area, each node with a code and a name.

A node keeps the ids from the root down (`path`, "/1/4/17/") and its names the same way
(`full_name`, "本部 / 住院楼 / 5F / 512病房"), so a building with all its floors and rooms is one
prefix match, and a list of work orders names their places with one query.
"""
from sqlalchemy import ColumnElement, func, literal, update
from sqlmodel import Session, select

from engine.errors import FIELDS_INVALID, Conflict, Invalid, NotFound, problem
from engine.storage.models import Location

KINDS = ("campus", "building", "floor", "room", "area")
SEPARATOR = " / "
MAX_PATH = 400  # the columns' length, of a path and of a full name


def add(session: Session, *, code: str, name: str, kind: str, parent: Location | None = None) -> Location:
    """A new node under `parent` (None: a root). Checked here: every way in (API, page, import) gets the same rules."""
    code, name = code.strip(), name.strip()
    problems = _naming_problems(session, code, name) + _parent_problems(parent)
    if kind not in KINDS:
        problems.append(problem("kind", "kind", value=kind))
    if problems:
        raise Invalid(FIELDS_INVALID, problems)
    node = Location(code=code, name=name, kind=kind, parent_id=parent.id if parent else None,
                    depth=parent.depth + 1 if parent else 0,
                    full_name=f"{parent.full_name}{SEPARATOR}{name}" if parent else name)
    session.add(node)
    session.flush()  # the id goes into the path
    node.path = f"{parent.path if parent else '/'}{node.id}/"
    session.add(node)
    return node


def _naming_problems(session: Session, code: str | None, name: str | None, node_id: int | None = None) -> list[dict]:
    """What is wrong with a code or name given (None: not given) for a new node or node `node_id`."""
    problems = []
    if code is not None and (not code or len(code) > 64):
        problems.append(problem("code", "code_length", max=64))
    if name is not None and (not name or len(name) > 100):
        problems.append(problem("name", "name_length", max=100))
    if code and session.exec(select(Location.id).where(Location.code == code, Location.id != node_id)).first() is not None:
        problems.append(problem("code", "code_exists", value=code))
    return problems


def _parent_problems(parent: Location | None, field: str = "parent") -> list[dict]:
    if parent is not None and len(parent.path) > 360:
        return [problem(field, "too_deep")]
    return []


# --- changing --------------------------------------------------------------------------------------

KEEP = object()  # a parent not given: the node stays where it is


def change(session: Session, location_id: int, *, code: str | None = None, name: str | None = None,
           parent: "Location | None | object" = KEEP, active: bool | None = None) -> Location:
    """Rename a node, change its code, move it under another parent (None: a root) or close and reopen it.
    A rename or a move rewrites the full names, paths and depths of the whole subtree in one statement; a
    node with open places or devices in service under it is not closed (Conflict, saying how many)."""
    node = session.get(Location, location_id)
    if node is None:
        raise NotFound("no_location", id=location_id)
    code = code.strip() if code is not None else None
    name = name.strip() if name is not None else None
    problems = _naming_problems(session, code, name, node.id)
    if parent is not KEEP:
        problems += _parent_problems(parent, "parent_id")
        if parent is not None and parent.path.startswith(node.path):
            problems.append(problem("parent_id", "move_into_itself"))
    if active and not node.active and parent is KEEP and node.parent_id is not None:
        above = session.get(Location, node.parent_id)
        if above is not None and not above.active:
            problems.append(problem("active", "reopen_above_first", name=above.full_name))
    moved = parent is not KEEP and (parent.id if parent else None) != node.parent_id
    prefixes = _prefixes(node, name or node.name, parent if moved else KEEP) \
        if (name and name != node.name) or moved else None
    if prefixes and not problems:
        problems += _length_problems(session, node, prefixes)
    if problems:
        raise Invalid(FIELDS_INVALID, problems)
    if active is False and node.active:
        _check_empty(session, node)
        node.active = False
    elif active:
        node.active = True
    if code:
        node.code = code
    if prefixes:
        _rewrite_subtree(session, node, name or node.name, parent if moved else KEEP, prefixes)
    session.add(node)
    session.flush()
    return node


def _prefixes(node: Location, name: str, parent) -> tuple[str, str]:
    """The node's new path and full name (what every node under it starts with)."""
    if parent is KEEP:
        return node.path, f"{node.full_name[: -len(node.name)]}{name}"
    if parent is None:
        return f"/{node.id}/", name
    return f"{parent.path}{node.id}/", f"{parent.full_name}{SEPARATOR}{name}"


def _length_problems(session: Session, node: Location, prefixes: tuple[str, str]) -> list[dict]:
    """Whether the longest path and full name under the node still fit their columns (one query)."""
    longest_path, longest_name = session.exec(
        select(func.max(func.length(Location.path)), func.max(func.length(Location.full_name)))
        .where(Location.path.startswith(node.path, autoescape=True))).one()
    if (longest_path or 0) - len(node.path) + len(prefixes[0]) > MAX_PATH \
            or (longest_name or 0) - len(node.full_name) + len(prefixes[1]) > MAX_PATH:
        return [problem("parent_id" if prefixes[0] != node.path else "name", "subtree_too_deep")]
    return []


def contents(session: Session, node: Location) -> tuple[int, int]:
    """How many open places are under a node, and how many devices in use (not retired) in it: two queries."""
    from engine.storage.models import Asset

    under = Location.path.startswith(node.path, autoescape=True)
    places = session.exec(select(func.count()).select_from(Location)
                          .where(under, Location.id != node.id, Location.active == True)).one()  # noqa: E712
    devices = session.exec(select(func.count()).select_from(Asset).where(
        Asset.status != "retired", Asset.location_id.in_(select(Location.id).where(under)))).one()
    return places, devices


def _check_empty(session: Session, node: Location) -> None:
    """A place is closed only when nothing is left in it: no open place under it, no device in use."""
    places, devices = contents(session, node)
    if places or devices:
        raise Conflict("place_not_empty", name=node.full_name, places=places, devices=devices)


def _rewrite_subtree(session: Session, node: Location, name: str, parent, prefixes: tuple[str, str]) -> None:
    """The node's new name and place in the tree, carried down to every node under it: one UPDATE that
    swaps the prefix of each path and full name (SQLite and PostgreSQL alike)."""
    old_path, old_name, old_depth = node.path, node.full_name, node.depth
    new_path, new_name = prefixes
    if parent is not KEEP:
        node.parent_id = parent.id if parent else None
    session.add(node)
    session.flush()
    depth = old_depth if parent is KEEP else (parent.depth + 1 if parent else 0)
    session.execute(
        update(Location).where(Location.path.startswith(old_path, autoescape=True))
        .values(path=literal(new_path) + func.substr(Location.path, len(old_path) + 1),
                full_name=literal(new_name) + func.substr(Location.full_name, len(old_name) + 1),
                depth=Location.depth + (depth - old_depth))
        .execution_options(synchronize_session=False))
    node.name = name
    for held in [obj for obj in session.identity_map.values() if isinstance(obj, Location)]:
        session.expire(held, ["path", "full_name", "depth"])  # read again: the database has the new ones


def get(session: Session, location_id: int, field: str = "location_id") -> Location:
    node = session.get(Location, location_id)
    if node is None or not node.active:
        raise Invalid("no_location", [problem(field, "no_location", id=location_id)], id=location_id)
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
