"""`GET /api/v1/inbox`: what waits for the caller (我的待办), grouped by event, oldest first.

The engine decides (engine.orders.inbox, from the compiled process); this route shows it:
per group the process, the event and its label, how many work orders wait, and the
oldest of them (up to `limit`), each with the events the caller may fire on it now.
"""
from typing import Annotated

from fastapi import APIRouter, Query

from engine.orders.inbox import inbox
from web.api.present import summaries
from web.deps import ActorDep, ClockDep, SessionDep
from web.public import InboxGroupPublic, InboxItemPublic, InboxPublic, errors

router = APIRouter(tags=["inbox"])


@router.get("/inbox", responses=errors(401, 422))
def get_inbox(session: SessionDep, actor: ActorDep, clock: ClockDep,
              limit: Annotated[int, Query(ge=1, le=200, description="work orders shown per group, oldest first")] = 50,
              ) -> InboxPublic:
    found = inbox(session, actor)
    shown = [order for group in found.groups for order in group.orders[:limit]]
    rows = {row.id: row for row in summaries(session, shown, clock.now())}

    def item(order_id: int) -> InboxItemPublic:
        return InboxItemPublic(**dict(rows[order_id]), available_events=[t.name for t in found.allowed[order_id]])

    return InboxPublic(total=found.total, groups=[
        InboxGroupPublic(process=group.process, event=group.event, label=group.label, verdict=group.verdict,
                         count=group.count, items=[item(order.id) for order in group.orders[:limit]])
        for group in found.groups
    ])
