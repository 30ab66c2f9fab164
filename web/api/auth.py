from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.security import OAuth2PasswordRequestForm

from engine.people.ldap_signin import DirectoryUnavailable
from engine.people.users import authenticate
from web.deps import ActorDep, ClockDep, SessionDep
from web.public import MePublic, TokenPublic, errors
from web.security import issue_token

router = APIRouter(tags=["auth"])


@router.post("/auth/token", responses=errors(400, 401, 422, 429))
def token(form: Annotated[OAuth2PasswordRequestForm, Depends()], session: SessionDep, request: Request,
          clock: ClockDep) -> TokenPublic:
    # The same per-username-and-address limit as the sign-in page (web.ratelimit).
    limiter = getattr(request.app.state, "login_limiter", None)
    address = request.client.host if request.client else "-"
    now = clock.now()
    wait = limiter.retry_after(form.username, address, now) if limiter else 0
    if wait:
        raise HTTPException(429, f"too many failed sign-ins for '{form.username[:64]}'; try again in {wait} seconds",
                            headers={"Retry-After": str(wait)})
    try:
        user = authenticate(session, form.username, form.password, directory=request.app.state.ldap)
    except DirectoryUnavailable:  # logged; not the person's failure, so not counted against them
        raise HTTPException(401, "the hospital directory cannot be reached to check this password; "
                                 "try again in a moment or ask IT", headers={"WWW-Authenticate": "Bearer"}) from None
    if user is None:
        if limiter:
            limiter.failed(form.username, address, now)
        raise HTTPException(401, "wrong username or password", headers={"WWW-Authenticate": "Bearer"})
    if limiter:
        limiter.succeeded(form.username, address)
    return TokenPublic(access_token=issue_token(session, user.username), token_type="bearer")


@router.get("/me", responses=errors(401))
def me(actor: ActorDep) -> MePublic:
    return MePublic(username=actor.username, display_name=actor.display_name, roles=sorted(actor.roles),
                    department_id=actor.department_id, language=actor.language)
