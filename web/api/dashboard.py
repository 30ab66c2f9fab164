from typing import Annotated, Literal

from fastapi import APIRouter, Query

from engine.errors import FIELDS_INVALID, Invalid, problem
from engine.reports import periods
from engine.reports.dashboard import Scope, figures
from engine.reports.fault_trends import fault_trends
from web.deps import ROW_ID_MAX, ActorDep, ClockDep, SessionDep
from web.public import DashboardPublic, errors

router = APIRouter(tags=["dashboard"])
# No NUL characters: a database text cannot hold them.
Text = Annotated[str | None, Query(max_length=100, pattern=r"^[^\x00]*$")]


@router.get("/dashboard", responses=errors(401, 422))
def dashboard(
    session: SessionDep, actor: ActorDep, clock: ClockDep,
    start: Annotated[str | None, Query(alias="from", max_length=40,
                                       description="a day (2026-10-01) or a time with a zone")] = None,
    end: Annotated[str | None, Query(alias="to", max_length=40,
                                     description="a day (included) or a time with a zone (excluded)")] = None,
    department: Text = None, process: Text = None, team: Text = None,
    location_id: Annotated[int | None, Query(ge=1, le=ROW_ID_MAX, description="a place of the tree, with everything "
                                              "under it (a building includes its floors and rooms)")] = None,
    level: Annotated[Literal["building", "floor"], Query(description="the tree's level fault trends group places at")]
    = "building",
) -> DashboardPublic:
    """The cockpit's figures for the work orders created in the period, and `by_month`: the same for
    each month of the period (the last 12 months when `from` is not given); `fault_trends`: failures
    month by month by device class, device and place at `level`."""
    scope = Scope(start=periods.bound(start, name="from"), end=periods.bound(end, name="to", end=True),
                  department=department, process=process, team=team, location_id=location_id)
    if scope.start and scope.end and scope.end <= scope.start:
        raise Invalid(FIELDS_INVALID, [problem("to", "to_before_from")])
    now = clock.now()
    return {**figures(session, actor, scope, now, monthly=True),
            "fault_trends": fault_trends(session, actor, scope, now, level=level)}
