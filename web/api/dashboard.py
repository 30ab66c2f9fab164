from datetime import datetime

from fastapi import APIRouter, HTTPException, Query

from engine.dashboard import Scope, figures
from web.deps import ActorDep, SessionDep

router = APIRouter(tags=["dashboard"])


@router.get("/dashboard")
def dashboard(
    session: SessionDep, actor: ActorDep,
    start: datetime | None = Query(default=None, alias="from"), end: datetime | None = Query(default=None, alias="to"),
    department: str | None = None, process: str | None = None,
) -> dict:
    for value in (start, end):
        if value is not None and value.tzinfo is None:
            raise HTTPException(422, "from/to need a time zone, e.g. 2026-10-01T00:00:00+08:00")
    return figures(session, actor, Scope(start=start, end=end, department=department, process=process))
