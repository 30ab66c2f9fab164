"""What-if over HTTP: `POST /processes/simulate` replays recent work against a draft (engine.foresight.simulate).

A plain `def` route: the replay is CPU and database work, which FastAPI runs in its threadpool, never on
the event loop every other request shares. It reads and never writes.
"""
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from engine.foresight import drafts
from engine.foresight.simulate import MAX_MONTHS, simulate
from web.deps import ClockDep, SessionDep, require_roles
from web.errors import body as error_body, definition_problems, language
from web.public import ErrorPublic, Public, errors
from workflows import DefinitionError
from workflows.calendars import CalendarError
from workflows.limits import MAX_TEXT_BYTES
from workflows.schema import Label

router = APIRouter(tags=["processes"])


class SimulationRequest(Public):
    # No maxLength in the schema: a text past the language's bound is refused by the loader, at its line (422),
    # like any other problem of the draft, never by the body limit in front of it.
    yaml: str = Field(description=f"the draft: a process definition (the key of a published one) or a calendars "
                                  f"file; at most {MAX_TEXT_BYTES // 1024} KB")
    months: int = Field(default=6, ge=1, le=MAX_MONTHS, description="how many months of history to replay")
    seed: int = Field(default=0, ge=0, le=2**31 - 1, description="seeds the draws of work routed to another team")


class SubjectPublic(Public):
    kind: str = Field(description="process or calendars")
    process: str | None


class OnTimeRowPublic(Public):
    process: str
    timer: str
    label: Label | None
    met: int
    ended: int
    rate: float | None


class LevelCountPublic(Public):
    level: int
    count: int


class RecipientCountPublic(Public):
    recipient: str = Field(description="as the ladder names them: role:NAME, assignee, dept_head...")
    count: int


class TeamCountPublic(Public):
    team: str | None = Field(description="None: no team")
    orders: int


class ResponsePublic(Public):
    process: str
    count: int
    median_minutes: float | None
    p90_minutes: float | None


class SideFiguresPublic(Public):
    orders: int
    not_replayable: int = Field(description="work orders whose recorded path this side does not allow")
    on_time: list[OnTimeRowPublic]
    escalations: list[LevelCountPublic]
    notifications: list[RecipientCountPublic]
    teams: list[TeamCountPublic]
    response: list[ResponsePublic]


class TimerChangePublic(Public):
    timer: str
    before: str
    after: str
    new_levels: list[int]
    dropped_levels: list[int]


class ChangedOrderPublic(Public):
    id: int
    number: str
    process: str
    priority: str
    timers: list[TimerChangePublic]
    team_before: str | None
    team_after: str | None


class ChangedPublic(Public):
    count: int
    orders: list[ChangedOrderPublic] = Field(description="the first 500")


class SimulationPublic(Public):
    subject: SubjectPublic
    months: int
    seed: int
    since: str
    until: str
    in_force: SideFiguresPublic
    draft: SideFiguresPublic
    changed: ChangedPublic


@router.post("/processes/simulate", dependencies=[require_roles("designer", "admin")],
             responses=errors(401, 403, 422))
def simulate_draft(request: Request, body: SimulationRequest, session: SessionDep, clock: ClockDep) -> SimulationPublic:
    """Replay the last `months` of real work orders against the draft and beside the version in force:
    on-time rate per timer, escalations per level, notifications per recipient, work per team, response
    median and 90th percentile, and the work orders whose outcome changes. Nothing is written."""
    try:
        draft = drafts.read(session, body.yaml, "<draft>")
        return SimulationPublic(**simulate(session, draft, months=body.months, seed=body.seed, now=clock.now()))
    except DefinitionError as exc:
        said = language(request.headers)
        return JSONResponse(status_code=422, content=ErrorPublic(
            **error_body(said, "draft_problems", {"count": len(exc.problems)}),
            errors=definition_problems(said, exc.problems)).model_dump(mode="json"))
    except CalendarError as exc:  # a draft calendar that never opens, found while laying work out on it
        return JSONResponse(status_code=422, content=ErrorPublic(
            **error_body(language(request.headers), str(exc))).model_dump(mode="json"))
