"""A person's password and sessions: their own change, an admin's reset, and ending every session at once.

Each API token and page session carries the user's sign-in epoch from the moment
it was issued (web.security, web.session), and web.deps compares it with
`users.auth_epoch` in the one query that reads who is signed in. Raising the
epoch therefore ends every session and token of that user at once, on every
worker process, with no list of sessions to keep: signing out, a new password,
a reset and deactivation all raise it.

Users whose password the hospital's directory checks (auth_source "ldap") change
it there: Houqin neither changes nor resets it.
"""
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session

from engine.errors import Conflict, Invalid, problem
from engine.people import passwords
from engine.people.users import hash_password, password_matches
from engine.storage.models import User


class WrongPassword(Invalid):
    """The current password given to authorise a change is not the user's (a guess, to be counted as one)."""


def end_sessions(session: Session, user_id: int) -> int:
    """Raise the user's epoch, ending every token and session issued before; the new epoch.

    One UPDATE ... RETURNING: two requests ending sessions at once both count, neither is lost."""
    return session.execute(
        update(User).where(User.id == user_id).values(auth_epoch=User.auth_epoch + 1).returning(User.auth_epoch)
    ).scalar_one()


def change_password(session: Session, user: User, *, current: str, new: str, now: datetime) -> int:
    """The user's own change, authorised by their current password; the new epoch, with which the caller
    re-issues the one session it keeps (every other ends)."""
    _kept_here(user)
    if not password_matches(user, current):
        raise WrongPassword("wrong_current", [problem("current_password", "wrong_current")])
    passwords.check(new, username=user.username, field="new_password", is_current=lambda candidate: candidate == current)
    return _set(session, user, new, now=now, must_change=False)


def reset_password(session: Session, user: User, *, now: datetime, temporary: str | None = None) -> str:
    """An admin's reset: a temporary password (`temporary`, or a random one) that the user must change at the
    next sign-in; every session of theirs ends. Returns the temporary password, to be handed over."""
    _kept_here(user)
    if temporary is None:
        temporary = passwords.temporary(user.username)
    passwords.check(temporary, username=user.username, field="temporary_password",
                    is_current=lambda candidate: password_matches(user, candidate))
    _set(session, user, temporary, now=now, must_change=True)
    return temporary


def _kept_here(user: User) -> None:
    if user.auth_source != "local":
        raise Conflict("password_kept_by_directory", username=user.username, source=user.auth_source)


def _set(session: Session, user: User, password: str, *, now: datetime, must_change: bool) -> int:
    user.password_hash = hash_password(password)
    user.must_change_password = must_change
    user.password_changed_at = now
    session.add(user)
    session.flush()
    return end_sessions(session, user.id)
