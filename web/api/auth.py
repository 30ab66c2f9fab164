from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from fastapi.security import OAuth2PasswordRequestForm

from engine.users import authenticate
from web.deps import ActorDep, SessionDep
from web.security import issue_token

router = APIRouter(tags=["auth"])


@router.post("/auth/token")
def token(form: Annotated[OAuth2PasswordRequestForm, Depends()], session: SessionDep) -> dict:
    user = authenticate(session, form.username, form.password)
    if user is None:
        raise HTTPException(401, "wrong username or password", headers={"WWW-Authenticate": "Bearer"})
    return {"access_token": issue_token(session, user.username), "token_type": "bearer"}


@router.get("/me")
def me(actor: ActorDep) -> dict:
    return {"username": actor.username, "display_name": actor.display_name, "roles": sorted(actor.roles),
            "department_id": actor.department_id, "language": actor.language}
