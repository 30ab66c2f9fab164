"""What routes declare they need: a database session, and the signed-in user."""
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session, select

from engine.db import get_engine
from engine.models import User
from engine.users import Actor, actor_for
from web.security import token_username

# Ids are 32-bit integer columns on PostgreSQL: a larger id cannot exist, so it is refused as input.
ROW_ID_MAX = 2**31 - 1
oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_session() -> Iterator[Session]:
    with Session(get_engine(), expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def current_actor(request: Request, session: SessionDep, token: Annotated[str | None, Depends(oauth2)]) -> Actor:
    """From the bearer token (API), or from the signed session cookie (pages)."""
    username = token_username(session, token) if token else None
    if username is None and "session" in request.scope:
        username = request.session.get("username")
    user = session.exec(select(User).where(User.username == username, User.active == True)).first() if username else None  # noqa: E712
    if user is None:
        raise HTTPException(401, "sign in first: POST /api/v1/auth/token with username and password",
                            headers={"WWW-Authenticate": "Bearer"})
    return actor_for(session, user)


ActorDep = Annotated[Actor, Depends(current_actor)]


def require_roles(*roles: str):
    def check(actor: ActorDep) -> Actor:
        if not actor.roles & set(roles):
            raise HTTPException(403, f"this needs one of the roles: {', '.join(roles)}")
        return actor

    return Depends(check)
