"""Signing in and out, one's own password, and who one is: /api/v1/auth, /api/v1/me.

A user who must change their password (an admin reset it, or it is the first
admin's one-time password) may call only these routes; every other answers 403
until they have (web.deps.current_actor).
"""
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, ConfigDict, Field

from engine.people import credentials
from engine.people.ldap_signin import DirectoryUnavailable
from engine.people.users import authenticate
from engine.storage.models import User
from web.deps import ClockDep, SessionDep, SignedInActorDep
from web.errors import Refused, body as error_body, language
from web.public import MePublic, TokenPublic, errors
from web.security import issue_token
from web.session import sign_in, sign_out

router = APIRouter(tags=["auth"])


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=4096, description="at least HOUQIN_PASSWORD_MIN_LENGTH (10) characters, "
                              "not containing the username, not a common password, not the current one")


def _wait(request: Request, username: str, now) -> None:
    """The same per-username-and-address limit on guessing as the sign-in page (web.ratelimit): 429 when locked."""
    limiter = getattr(request.app.state, "login_limiter", None)
    wait = limiter.retry_after(username, _address(request), now) if limiter else 0
    if wait:
        raise Refused(429, "too_many_sign_ins", headers={"Retry-After": str(wait)}, username=username[:64],
                      seconds=wait)


def _address(request: Request) -> str:
    return request.client.host if request.client else "-"


@router.post("/auth/token", responses=errors(400, 401, 422, 429))
def token(form: Annotated[OAuth2PasswordRequestForm, Depends()], session: SessionDep, request: Request,
          clock: ClockDep) -> TokenPublic:
    now = clock.now()
    _wait(request, form.username, now)
    limiter = getattr(request.app.state, "login_limiter", None)
    try:
        user = authenticate(session, form.username, form.password, directory=request.app.state.ldap)
    except DirectoryUnavailable:  # logged; not the person's failure, so not counted against them
        raise Refused(401, "directory_unreachable", headers={"WWW-Authenticate": "Bearer"}) from None
    if user is None:  # answered, not raised: the failure is committed with the request (web.ratelimit)
        if limiter:
            limiter.failed(session, form.username, _address(request), now)
        return JSONResponse(status_code=401, content=error_body(language(request.headers), "wrong_sign_in"),
                            headers={"WWW-Authenticate": "Bearer"})
    if limiter:
        limiter.succeeded(session, form.username, _address(request))
    return TokenPublic(access_token=issue_token(session, user.username, user.auth_epoch), token_type="bearer")


@router.post("/auth/logout", status_code=204, responses=errors(401, 403))
def logout(request: Request, session: SessionDep, actor: SignedInActorDep) -> None:
    """Sign out everywhere: every token and page session of the caller ends, this one included."""
    credentials.end_sessions(session, actor.id)
    if "session" in request.scope:
        sign_out(request.session)


@router.post("/auth/password", responses=errors(400, 401, 403, 409, 422, 429))
def change_password(body: PasswordChange, request: Request, session: SessionDep, clock: ClockDep,
                    actor: SignedInActorDep) -> TokenPublic:
    """Change one's own password. Every other token and session of the caller ends; the answer is a new
    token for this client (and a page session that called is renewed in place)."""
    now = clock.now()
    _wait(request, actor.username, now)
    user = session.get(User, actor.id)
    try:
        epoch = credentials.change_password(session, user, current=body.current_password, new=body.new_password,
                                            now=now)
    except credentials.WrongPassword as wrong:  # answered, not raised: the guess is counted (web.ratelimit)
        limiter = getattr(request.app.state, "login_limiter", None)
        if limiter:
            limiter.failed(session, actor.username, _address(request), now)
        return JSONResponse(status_code=422, content=error_body(language(request.headers), wrong.code, wrong.params, wrong.errors))
    if request.state.signed_in_by == "cookie":
        sign_in(request.session, actor.username, epoch)
    return TokenPublic(access_token=issue_token(session, actor.username, epoch), token_type="bearer")


@router.get("/me", responses=errors(401))
def me(actor: SignedInActorDep) -> MePublic:
    return MePublic(username=actor.username, display_name=actor.display_name, roles=sorted(actor.roles),
                    department_id=actor.department_id, language=actor.language,
                    must_change_password=actor.must_change_password)
