"""What an administrator does to a person's sign-in: /api/v1/users/{username}/…"""
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from engine.people import credentials
from engine.people.users import user_by_name
from web.deps import ClockDep, SessionDep, require_roles
from web.public import PasswordResetPublic, errors

router = APIRouter(tags=["users"])
Username = Annotated[str, Path(min_length=1, max_length=64, description="the user's username, e.g. nurse")]


class PasswordReset(BaseModel):
    model_config = ConfigDict(extra="forbid")
    temporary_password: str | None = Field(default=None, max_length=4096,
                                           description="left out: a random one that meets the password policy")


@router.post("/users/{username}/password", dependencies=[require_roles("admin")],
             responses=errors(400, 401, 403, 404, 409, 422))
def reset_password(username: Username, session: SessionDep, clock: ClockDep,
                   body: PasswordReset | None = None) -> PasswordResetPublic:
    """Reset a user's password (admins): every session and token of theirs ends, and the temporary password
    answered here must be changed at their next sign-in. Directory (LDAP) users are refused with 409."""
    user = user_by_name(session, username)
    temporary = credentials.reset_password(session, user, now=clock.now(),
                                           temporary=body.temporary_password if body else None)
    return PasswordResetPublic(username=user.username, temporary_password=temporary, must_change_password=True)
