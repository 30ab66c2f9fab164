"""On-demand SLA sweep: supervisors need not wait for the next tick to see what is late."""
from fastapi import APIRouter, BackgroundTasks

from engine import escalation
from engine.clock import clock
from web import worker
from web.deps import SessionDep, require_roles
from web.public import SweepPublic, errors

router = APIRouter(tags=["sla"])


@router.post("/sla/sweep", dependencies=[require_roles("supervisor", "admin")], responses=errors(401, 403))
def sweep_now(session: SessionDep, background: BackgroundTasks) -> SweepPublic:
    """Fire every escalation due now and return them; outside deliveries go out after the response."""
    now = clock.now()
    fired = escalation.sweep(session, now)
    background.add_task(worker.deliver_once, now)
    return SweepPublic(now=now, count=len(fired), fired=[item.as_dict() for item in fired])
