"""What routing would do with a draft work order, creating nothing: /api/v1/dispatch/preview.

The designer's and the dispatcher's way to check the `dispatch:` rules: the same
decision (engine.dispatch.routing.decide) that creating the work order now makes.
"""
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from engine.published import definitions
from engine.dispatch import routing
from engine.errors import FIELDS_INVALID, Invalid, problem
from engine.notify.messages import message
from web.deps import ClockDep, SessionDep, require_roles
from web.i18n import message_text, reading
from web.public import errors

router = APIRouter(tags=["dispatch"])


class Draft(BaseModel):
    model_config = ConfigDict(extra="forbid")
    process: str = Field(max_length=64)
    priority: Literal["urgent", "high", "normal", "low"] = "normal"
    department: str | None = Field(default=None, max_length=100)
    location: str = Field(default="", max_length=200)
    fields: dict = {}


class CandidateOut(BaseModel):
    username: str
    display_name: str
    shift: str
    load: int


class PreviewOut(BaseModel):
    rule: str
    strategy: str
    team: str | None
    person: str | None
    waits_for: str
    accept_within: str | None
    on_duty: list[str]
    candidates: list[CandidateOut]
    reason: str


@router.post("/dispatch/preview", dependencies=[require_roles("dispatcher", "designer", "admin", "supervisor")],
             responses=errors(400, 401, 403, 422))
def preview(body: Draft, session: SessionDep, clock: ClockDep) -> PreviewOut:
    stored = definitions.latest(session, body.process)
    if stored is None:
        raise Invalid(FIELDS_INVALID, [problem("process", "no_process", process=body.process)])
    compiled = definitions.compiled(session, body.process, stored.version)
    spec = compiled.definition.dispatch
    if spec is None:
        return PreviewOut(rule="none", strategy="manual", team=None, person=None, waits_for="dispatcher",
                          accept_within=None, on_duty=[], candidates=[],
                          reason=message_text(reading(), message("no_dispatch_rules", process=body.process)))
    values, errors = compiled.creation_fields.clean(body.fields)
    if errors:
        raise Invalid(FIELDS_INVALID, errors)
    facts = {**values, "priority": body.priority, "department": body.department, "location": body.location}
    decision = routing.decide(session, spec, facts, clock.now())
    data = {**decision.as_dict(), "reason": message_text(reading(), decision.reason)}  # in the caller's language
    return PreviewOut(**{key: data[key] for key in PreviewOut.model_fields if key != "candidates"},
                      candidates=[CandidateOut(username=c.username, display_name=c.display_name, shift=c.shift,
                                               load=c.load) for c in decision.candidates])
