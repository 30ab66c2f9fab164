"""What routes declare they need: the settings, the clock, a unit of work, and the signed-in user.

The request is the unit of work: `SessionDep` opens one session, and commits it
after the route has returned but before the response is sent (FastAPI's
`scope="function"`); a route that raises rolls everything back. So a conflict
found at commit (someone else saved the same work order) still answers 409,
and no response ever claims what was not committed.

Who is signed in is read once per request, in one query, whether the request
carries a bearer token (API) or the page session cookie: `signed_in` is that
one dependency; the API refuses with 401 (`ActorDep`), the pages send the
browser to the sign-in page (web.pages.common.ActorPage). The same query checks
the sign-in epoch the token or cookie carries against the user's, which is how
signing out, a new password and deactivation end every session at once
(engine.people.credentials). A user who must change their password gets 403
from every route but the few that let them do so (`SignedInActorDep`).
"""
from collections.abc import AsyncIterator, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from pydantic import Field
from sqlmodel import Session
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException

from engine.clock import Clock
from engine.dispatch.routing import with_duty
from engine.people.users import Actor, active_actor
from engine.settings import Settings
from engine.storage import unit_of_work
from engine.storage.db import get_engine
from web.errors import Refused
from web.security import SIGN_IN_FIRST, session_subject, token_subject

# Ids are 32-bit integer columns on PostgreSQL: a larger id cannot exist, so it is refused as input.
ROW_ID_MAX = 2**31 - 1
RowId = Annotated[int, Field(ge=1, le=ROW_ID_MAX)]  # an id sent in a body
oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


async def get_settings(request: Request) -> Settings:
    # The dependencies that touch nothing but the request are `async`: FastAPI runs them on the event loop
    # instead of handing each to a worker thread and back (a thread hop costs more than they do).
    return request.app.state.settings


async def get_clock(request: Request) -> Clock:
    """The app's clock: real time, or the test clock (HOUQIN_TEST_CLOCK=1, or a test's override)."""
    return request.app.state.clock


SettingsDep = Annotated[Settings, Depends(get_settings)]
ClockDep = Annotated[Clock, Depends(get_clock)]


def get_session(settings: SettingsDep) -> Iterator[Session]:
    with Session(get_engine(settings.database), expire_on_commit=False) as session:
        with unit_of_work.unit_of_work(session):
            yield session


# scope="function": the exit (the commit) runs before the response is sent, not after it.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def signed_in(request: Request, session: SessionDep, clock: ClockDep,
              token: Annotated[str | None, Depends(oauth2)]) -> Actor | None:
    """The active user of the bearer token, else of the page session cookie; None when nobody is, or when
    that token or session was ended (its sign-in epoch is not the user's any more).

    A request that sends a bearer token is whoever the token says, or nobody when it is invalid: never the
    cookie's user (web.session.ApiCsrfMiddleware lets a cookie call through only with its CSRF token).
    They come with the teams whose rota has them on duty now (what the `on_duty` role asks of them).
    `request.state.signed_in_by` says which credential it was ("token", "cookie"), for the routes that
    end or renew it."""
    if token is not None:
        subject, by = token_subject(session, token), "token"
    elif "session" in request.scope:
        subject, by = session_subject(request.session), "cookie"
    else:
        subject, by = None, None
    actor = active_actor(session, *subject) if subject else None
    request.state.signed_in_by = by if actor is not None else None
    return with_duty(session, actor, clock.now()) if actor is not None else None


SignedIn = Annotated[Actor | None, Depends(signed_in)]
MUST_CHANGE_PASSWORD = "must_change_password"


async def signed_in_actor(actor: SignedIn) -> Actor:
    """The signed-in user, even one who must change their password before anything else; else 401."""
    if actor is None:
        raise Refused(401, SIGN_IN_FIRST, headers={"WWW-Authenticate": "Bearer"})
    return actor


# Only the routes a user needs to change a forced password take it: /me, /auth/password, /auth/logout.
SignedInActorDep = Annotated[Actor, Depends(signed_in_actor)]


async def current_actor(actor: SignedInActorDep) -> Actor:
    """The signed-in user, refused (403) while they must change their password."""
    if actor.must_change_password:
        raise Refused(403, MUST_CHANGE_PASSWORD)
    return actor


ActorDep = Annotated[Actor, Depends(current_actor)]


def require_roles(*roles: str):
    async def check(actor: ActorDep) -> Actor:
        if not actor.roles & set(roles):
            raise Refused(403, "roles_needed", roles=list(roles))
        return actor

    return Depends(check)


async def read_upload(request: Request) -> AsyncIterator[FormData]:
    """A multipart upload (one file), read only when this is solved: after the checks listed before it.

    FastAPI reads a `File()` parameter before it solves any dependency, role checks included; this
    reads the body after them, within its limit (web.limits), and closes the file after the response.
    """
    try:
        form = await request.form(max_files=1, max_fields=5)
    except StarletteHTTPException as exc:  # over the limit (413), or a multipart error Starlette names (400)
        if exc.status_code == 413:
            raise
        raise Refused(400, "send_multipart") from None
    except Exception:  # malformed multipart of any other kind
        raise Refused(400, "send_multipart") from None
    try:
        yield form
    finally:
        await form.close()


UploadDep = Annotated[FormData, Depends(read_upload)]
