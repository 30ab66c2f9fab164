"""On-demand SLA sweep: supervisors need not wait for the next tick to see what is late."""
from fastapi import APIRouter, BackgroundTasks

from engine.sla import escalation
from web.deps import ClockDep, SessionDep, SettingsDep, require_roles
from web.public import SweepPublic, errors
from web.worker import Worker

router = APIRouter(tags=["sla"])


@router.post("/sla/sweep", dependencies=[require_roles("supervisor", "admin")], responses=errors(401, 403))
def sweep_now(session: SessionDep, background: BackgroundTasks, clock: ClockDep, settings: SettingsDep) -> SweepPublic:
    """Fire every escalation due now and return them; outside deliveries go out after the response."""
    now = clock.now()
    fired = escalation.sweep(session, now)
    background.add_task(Worker(settings, clock).deliver_once, now)
    return SweepPublic(now=now, count=len(fired), fired=[item.as_dict() for item in fired])
