"""The hospital's directory as the admin and dispatch pages manage it.

People with their roles, departments, teams and how much open work each
technician carries; notification channels and the deliveries that failed.
Creating a user stays in `engine.people.users.add_user`; this module reads lists and
makes the small changes an administrator makes afterwards.
"""
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, select

from engine.errors import Invalid, NotFound, problem
from engine.people import credentials
from engine.people.users import department_named, team_named
from engine.storage.models import Channel, Department, Outbox, Team, User, UserRole, WorkOrder
from workflows.schema import ROLES

LANGUAGES = ("zh", "en")


@dataclass(frozen=True)
class Person:
    id: int
    username: str
    display_name: str
    department: str | None
    team: str | None
    roles: tuple[str, ...]
    active: bool
    language: str
    open_orders: int = 0
    in_directory: bool = False  # signs in against the hospital's directory, which keeps the password


def people(session: Session, *, role: str | None = None, active_only: bool = False) -> list[Person]:
    """Everybody (or the holders of `role`), with roles, department, team and open work orders."""
    query = select(User).order_by(User.username)
    if role:
        query = query.join(UserRole, UserRole.user_id == User.id).where(UserRole.role == role)
    if active_only:
        query = query.where(User.active == True)  # noqa: E712
    users = session.exec(query).all()
    ids = [u.id for u in users]
    if not ids:
        return []
    roles: dict[int, list[str]] = {}
    for user_id, name in session.exec(select(UserRole.user_id, UserRole.role).where(UserRole.user_id.in_(ids))).all():
        roles.setdefault(user_id, []).append(name)
    load = open_load(session, ids)
    departments = dict(session.exec(select(Department.id, Department.name)).all())
    teams = dict(session.exec(select(Team.id, Team.name)).all())
    return [
        Person(id=u.id, username=u.username, display_name=u.display_name or u.username,
               department=departments.get(u.department_id), team=teams.get(u.team_id),
               roles=tuple(sorted(roles.get(u.id, []), key=ROLES.index)), active=u.active,
               language=u.language, open_orders=load.get(u.id, 0), in_directory=u.auth_source == "ldap")
        for u in users
    ]


def open_load(session: Session, user_ids: list[int]) -> dict[int, int]:
    """How many open work orders each user is assigned: the dispatcher's measure of load."""
    if not user_ids:
        return {}
    return dict(session.exec(
        select(WorkOrder.assignee_id, func.count()).where(
            WorkOrder.assignee_id.in_(user_ids), WorkOrder.closed == False)  # noqa: E712
        .group_by(WorkOrder.assignee_id)).all())


def display_names(session: Session, user_ids: set) -> dict[int, str]:
    ids = {i for i in user_ids if isinstance(i, int)}
    if not ids:
        return {}
    return {uid: name or username for uid, username, name in session.exec(
        select(User.id, User.username, User.display_name).where(User.id.in_(ids))).all()}


def name_map(session: Session, people) -> dict:
    """Display names by user id and by username, for any mix of both (escalations record usernames,
    notifications ids), in one query: a page gathers every person it shows and asks once."""
    ids = {p for p in people if isinstance(p, int)}
    usernames = {p for p in people if isinstance(p, str)}
    found: dict = {}
    if ids or usernames:
        for uid, username, name in session.exec(select(User.id, User.username, User.display_name).where(
                (User.id.in_(ids)) | (User.username.in_(usernames)))).all():
            found[uid] = found[username] = name or username
    return found


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("no_user_id", id=user_id)
    return user


def set_language(session: Session, user_id: int, language: str) -> None:
    if language not in LANGUAGES:
        raise Invalid("unknown_language", [problem("language", "unknown_language", languages=list(LANGUAGES))])
    user = _user(session, user_id)
    user.language = language
    session.add(user)
    session.flush()


def set_roles(session: Session, user_id: int, roles: list[str]) -> None:
    unknown = [role for role in roles if role not in ROLES]
    if unknown:
        raise Invalid("unknown_roles", [problem("roles", "unknown_roles", unknown=unknown, roles=list(ROLES))])
    if not roles:
        raise Invalid("no_roles", [problem("roles", "no_roles")])
    _user(session, user_id)
    for row in session.exec(select(UserRole).where(UserRole.user_id == user_id)).all():
        session.delete(row)
    session.flush()
    for role in dict.fromkeys(roles):
        session.add(UserRole(user_id=user_id, role=role))
    session.flush()


def set_active(session: Session, user_id: int, active: bool) -> None:
    """Deactivating ends every session and token of theirs: activated again, they sign in afresh."""
    user = _user(session, user_id)
    user.active = active
    session.add(user)
    session.flush()
    if not active:
        credentials.end_sessions(session, user_id)


def set_placement(session: Session, user_id: int, *, department: str | None, team: str | None) -> None:
    """Move a user to a department and team (names; empty clears); unknown names are created."""
    user = _user(session, user_id)
    department, team = (department or "").strip(), (team or "").strip()
    user.department_id = department_named(session, department, create=True).id if department else None
    user.team_id = team_named(session, team, create=True).id if team else None
    session.add(user)
    session.flush()


def departments(session: Session) -> list[tuple[Department, int]]:
    """Each department with how many people it has."""
    counts = dict(session.exec(select(User.department_id, func.count()).group_by(User.department_id)).all())
    return [(d, counts.get(d.id, 0)) for d in session.exec(select(Department).order_by(Department.name)).all()]


def teams(session: Session) -> list[tuple[Team, int]]:
    counts = dict(session.exec(select(User.team_id, func.count()).group_by(User.team_id)).all())
    return [(t, counts.get(t.id, 0)) for t in session.exec(select(Team).order_by(Team.name)).all()]


def _name(name: str, what: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise Invalid(f"bad_{what}_name", [problem("name", f"bad_{what}_name")])
    return name


def add_department(session: Session, name: str) -> Department:
    name = _name(name, "department")
    if session.exec(select(Department).where(Department.name == name)).first():
        raise Invalid("department_exists", [problem("name", "department_exists", name=name)], name=name)
    department = department_named(session, name, create=True)
    session.flush()
    return department


def add_team(session: Session, name: str) -> Team:
    name = _name(name, "team")
    if session.exec(select(Team).where(Team.name == name)).first():
        raise Invalid("team_exists", [problem("name", "team_exists", name=name)], name=name)
    team = team_named(session, name, create=True)
    session.flush()
    return team


def channels(session: Session) -> list[tuple[Channel, dict[str, int]]]:
    """Each channel with its deliveries counted by status (pending, sent, failed)."""
    counts: dict[int, dict[str, int]] = {}
    for channel_id, status, count in session.exec(
            select(Outbox.channel_id, Outbox.status, func.count()).group_by(Outbox.channel_id, Outbox.status)).all():
        counts.setdefault(channel_id, {})[status] = count
    return [(c, counts.get(c.id, {})) for c in session.exec(select(Channel).order_by(Channel.name)).all()]


def failed_deliveries(session: Session, limit: int = 50) -> list[tuple[Outbox, str]]:
    """The newest deliveries that gave up, with their channel's name and last error."""
    rows = session.exec(
        select(Outbox, Channel.name).join(Channel, Channel.id == Outbox.channel_id)
        .where(Outbox.status == "failed").order_by(Outbox.id.desc()).limit(limit)).all()
    return [(outbox, name) for outbox, name in rows]
