"""Bearer tokens for the API: signed JWTs carrying the username and sign-in epoch, with an expiry.

The epoch (claim `epoch`) is the user's `auth_epoch` when the token was issued: raising it
(engine.people.credentials) ends the token before it expires."""
import secrets
from datetime import datetime, timedelta, timezone

import jwt
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from engine import settings
from engine.storage import unit_of_work
from engine.storage.models import Setting

ALGORITHM = "HS256"
TOKEN_HOURS = 12
SIGN_IN_FIRST = "sign_in_first"  # the refusal's code (web.errors)
_cache: dict[str, str] = {}


def secret_key(session: Session) -> str:
    """HOUQIN_SECRET_KEY, or a random key made once and kept in the database (shared by all workers).

    Made in a transaction of its own: it must stay even if the request that first needed it fails.
    """
    if "key" in _cache:
        return _cache["key"]
    key = settings.current().secret_key
    if not key:
        with Session(session.get_bind(), expire_on_commit=False) as own:
            stored = own.get(Setting, "secret_key")
            if stored is None:
                try:
                    own.add(Setting(key="secret_key", value=secrets.token_urlsafe(48)))
                    unit_of_work.commit(own)
                except IntegrityError:  # another worker made it first
                    pass
                stored = own.get(Setting, "secret_key")
            key = stored.value
    _cache["key"] = key
    return key


def issue_token(session: Session, username: str, epoch: int) -> str:
    expires = datetime.now(timezone.utc) + timedelta(hours=TOKEN_HOURS)
    return jwt.encode({"sub": username, "epoch": epoch, "exp": expires}, secret_key(session), algorithm=ALGORITHM)


def token_subject(session: Session, token: str) -> tuple[str, int] | None:
    return subject_in(token, secret_key(session))


def subject_in(token: str, key: str) -> tuple[str, int] | None:
    """The username and epoch a token was issued for, when its signature and expiry hold; None for any
    other token (a token without an epoch was issued before sessions could be ended, and is refused)."""
    try:
        claims = jwt.decode(token, key, algorithms=[ALGORITHM], options={"require": ["exp"]})
    except jwt.PyJWTError:
        return None
    subject, epoch = claims.get("sub"), claims.get("epoch")
    if not isinstance(subject, str) or not subject or type(epoch) is not int:
        return None
    return subject, epoch


def session_subject(session: dict) -> tuple[str, int] | None:
    """The username and epoch this page session was signed in with, if any."""
    username, epoch = session.get("username"), session.get("epoch")
    if isinstance(username, str) and username and type(epoch) is int:
        return username, epoch
    return None
