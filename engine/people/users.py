"""People, their departments and roles, and password checking."""
from dataclasses import dataclass, field
from typing import Protocol

from pwdlib import PasswordHash
from sqlmodel import Session, select

from engine.errors import Invalid, NotFound, problem
from engine.people import passwords
from engine.storage.models import Department, Team, User, UserRole
from workflows.schema import ROLES

_hasher = PasswordHash.recommended()  # argon2id
# Checked against when the username is unknown, so both cases take the same time.
_DUMMY_HASH = _hasher.hash("houqin-not-a-password")
# Roles of the clinical departments: scoped to their own department's work orders.
DEPARTMENT_ROLES = {"requester", "dept_head"}


@dataclass(frozen=True)
class Actor:
    """The signed-in user as the engine needs them: who, which department, which roles."""

    id: int
    username: str
    department_id: int | None
    roles: frozenset[str] = field(default_factory=frozenset)
    display_name: str = ""
    language: str = "zh"
    # Teams whose rota has this person on duty now; filled in (engine.dispatch.rotas) only where an event asks.
    on_duty: frozenset[int] = field(default_factory=frozenset)
    # An admin reset their password (or it is the first admin's one-time password): they choose a new one first.
    must_change_password: bool = False

    def has(self, role: str) -> bool:
        return role in self.roles

    @property
    def sees_all(self) -> bool:
        """Logistics staff work the whole hospital's pool; clinical departments see their own."""
        return bool(self.roles - DEPARTMENT_ROLES)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def valid_username(username: str) -> bool:
    return bool(username) and len(username) <= 64 and username.replace("_", "").replace(".", "").replace("-", "").isalnum()


def password_matches(user: User, password: str) -> bool:
    return _hasher.verify(password, user.password_hash)


def department_named(session: Session, name: str, create: bool = False) -> Department:
    department = session.exec(select(Department).where(Department.name == name)).first()
    if department is None:
        if not create:
            raise Invalid("unknown_department", [problem("department", "unknown_department", name=name)], name=name)
        department = Department(name=name)
        session.add(department)
        session.flush()
    return department


def team_named(session: Session, name: str, create: bool = False) -> Team:
    team = session.exec(select(Team).where(Team.name == name)).first()
    if team is None:
        if not create:
            raise Invalid("unknown_team", [problem("team", "unknown_team", name=name)], name=name)
        team = Team(name=name)
        session.add(team)
        session.flush()
    return team


def add_user(
    session: Session, *, username: str, password: str, roles: list[str], department: str | None = None,
    display_name: str = "", team: str | None = None, email: str | None = None, must_change_password: bool = False,
) -> User:
    unknown = [role for role in roles if role not in ROLES]
    if unknown:
        raise Invalid("unknown_roles", [problem("roles", "unknown_roles", unknown=unknown, roles=list(ROLES))])
    if not valid_username(username):
        raise Invalid("bad_username", [problem("username", "bad_username")])
    passwords.check(password, username=username)
    if session.exec(select(User).where(User.username == username)).first():
        raise Invalid("user_exists", [problem("username", "user_exists", username=username)], username=username)
    user = User(
        username=username, display_name=display_name or username, password_hash=hash_password(password),
        department_id=department_named(session, department, create=True).id if department else None,
        team_id=team_named(session, team, create=True).id if team else None, email=email,
        must_change_password=must_change_password,
    )
    session.add(user)
    session.flush()
    for role in dict.fromkeys(roles):
        session.add(UserRole(user_id=user.id, role=role))
    session.flush()
    return user


class Directory(Protocol):
    """Where passwords of people not kept in Houqin are checked (engine.people.ldap_signin.LdapDirectory)."""

    def sign_in(self, session: Session, username: str, password: str) -> User | None: ...


def authenticate(session: Session, username: str, password: str, directory: Directory | None = None) -> User | None:
    """The active user `username` names if `password` is theirs; None otherwise.

    A local user's password is checked against its hash here. A directory user's (auth_source "ldap"),
    and any name Houqin does not know while a `directory` is configured, is checked by the directory,
    which may raise when it cannot be reached. A local user is never looked up in the directory, so a
    directory account of the same name cannot take theirs over.
    """
    user = session.exec(select(User).where(User.username == username)).first()
    if directory is not None and (user is None or user.auth_source == "ldap"):
        return directory.sign_in(session, username, password)
    if user is None or not user.active or user.auth_source != "local":
        _hasher.verify(password, _DUMMY_HASH)
        return None
    valid, new_hash = _hasher.verify_and_update(password, user.password_hash)
    if not valid:
        return None
    if new_hash:
        user.password_hash = new_hash
        session.add(user)
    return user


def actor_for(session: Session, user: User) -> Actor:
    roles = session.exec(select(UserRole.role).where(UserRole.user_id == user.id)).all()
    return Actor(
        id=user.id, username=user.username, department_id=user.department_id, roles=frozenset(roles),
        display_name=user.display_name, language=user.language, must_change_password=user.must_change_password,
    )


def active_actor(session: Session, username: str, epoch: int) -> Actor | None:
    """The active user named `username` with their roles, in one query (each request signs in with it).

    None too when the token or session was issued in another sign-in epoch than the user's (it was ended:
    signed out, password changed, deactivated since)."""
    rows = session.exec(
        select(User, UserRole.role).outerjoin(UserRole, UserRole.user_id == User.id)
        .where(User.username == username, User.active == True, User.auth_epoch == epoch)  # noqa: E712
    ).all()
    if not rows:
        return None
    user = rows[0][0]
    return Actor(
        id=user.id, username=user.username, department_id=user.department_id,
        roles=frozenset(role for _, role in rows if role is not None), display_name=user.display_name,
        language=user.language, must_change_password=user.must_change_password,
    )


def user_by_name(session: Session, username: str) -> User:
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound("no_user_named", username=username)
    return user


def users_with_role(session: Session, role: str) -> list[User]:
    return list(session.exec(
        select(User).join(UserRole, UserRole.user_id == User.id).where(UserRole.role == role, User.active == True)  # noqa: E712
    ).all())
