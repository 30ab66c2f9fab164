"""The password policy: what a new password must be, said so that a person knows what to fix.

One policy for every way a password is set (a new user, one's own change, an
admin's reset): long enough (HOUQIN_PASSWORD_MIN_LENGTH, 10 by default), not
absurdly long (hashing a megabyte costs the server, not the guesser), not
holding the username, not one of the passwords people choose most often
(common_passwords.txt beside this file), and, on a change, not the current one.

Each problem is a code (`too_short`, ...) with its figures, said in the reader's
language by the web layer (web/locales: `errors.<code>`); the English message is for the command line.
"""
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from engine import settings
from engine.errors import FIELDS_INVALID, Invalid, problem

MAX_LENGTH = 1024
_COMMON = Path(__file__).with_name("common_passwords.txt")
# Shorter usernames ("li", "wu") are parts of too many good passwords to forbid.
_USERNAME_MIN = 3


@dataclass(frozen=True)
class Problem:
    code: str
    message: str


def min_length() -> int:
    return settings.current().password_min_length


@cache
def common() -> frozenset[str]:
    lines = _COMMON.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def problems(password: str, *, username: str, is_current: Callable[[str], bool] | None = None) -> list[Problem]:
    """What is wrong with `password` for the user `username`; empty when it is acceptable.

    `is_current(password)` says whether it is the password the user has now (asked last: it costs a hash)."""
    found = []
    shortest = min_length()
    if len(password) < shortest:
        found.append(Problem("too_short", f"a password needs at least {shortest} characters"))
    if len(password) > MAX_LENGTH:
        found.append(Problem("too_long", f"a password has at most {MAX_LENGTH} characters"))
    if len(username) >= _USERNAME_MIN and username.lower() in password.lower():
        found.append(Problem("has_username", "a password must not contain the username"))
    if password.lower() in common():
        found.append(Problem("common", "this is one of the most common passwords: choose another"))
    if not found and is_current is not None and is_current(password):
        found.append(Problem("unchanged", "the new password must differ from the current one"))
    return found


def check(password: str, *, username: str, field: str = "password",
          is_current: Callable[[str], bool] | None = None) -> None:
    """Raise Invalid naming every problem of `password` (each with its field, code and message)."""
    found = problems(password, username=username, is_current=is_current)
    if found:
        raise Invalid(FIELDS_INVALID, [problem(field, p.code, **_FIGURES.get(p.code, dict)()) for p in found])


# What each problem's text names.
_FIGURES = {"too_short": lambda: {"min": min_length()}, "too_long": lambda: {"max": MAX_LENGTH}}


def temporary(username: str) -> str:
    """A random password an admin hands over, to be changed at the next sign-in; it meets the policy."""
    while True:
        candidate = secrets.token_urlsafe(max(12, min_length()))
        if not problems(candidate, username=username):
            return candidate
