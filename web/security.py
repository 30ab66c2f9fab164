"""Bearer tokens for the API: signed JWTs carrying the username, with an expiry."""
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


def issue_token(session: Session, username: str) -> str:
    expires = datetime.now(timezone.utc) + timedelta(hours=TOKEN_HOURS)
    return jwt.encode({"sub": username, "exp": expires}, secret_key(session), algorithm=ALGORITHM)


def token_username(session: Session, token: str) -> str | None:
    try:
        claims = jwt.decode(token, secret_key(session), algorithms=[ALGORITHM])
    except jwt.PyJWTError:
        return None
    subject = claims.get("sub")
    return subject if isinstance(subject, str) else None
