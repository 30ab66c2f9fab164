"""`GET /api/v1/inbox`: what waits for the caller (我的待办), grouped by event, oldest first.

The engine decides (engine.inbox, from the compiled process); this route shows it:
per group the process, the event and its label, how many work orders wait, and the
oldest of them (up to `limit`), each with the events the caller may fire on it now.
"""
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from engine.inbox import inbox
from web.api.present import summaries
from web.deps import ActorDep, ClockDep, SessionDep

router = APIRouter(tags=["inbox"])


class LabelOut(BaseModel):
    zh: str
    en: str


class InboxItem(BaseModel):
    id: int
    number: str
    process: str
    state: str
    priority: str
    title: str
    location: str
    department: str | None
    reporter: str | None
    assignee: str | None
    created_at: datetime
    updated_at: datetime
    available_events: list[str]


class InboxGroup(BaseModel):
    process: str
    event: str
    label: LabelOut
    verdict: bool  # the reporter's verdict on the result: "waiting for your confirmation"
    count: int
    items: list[InboxItem]


class InboxOut(BaseModel):
    total: int
    groups: list[InboxGroup]


@router.get("/inbox", response_model=InboxOut)
def get_inbox(session: SessionDep, actor: ActorDep, clock: ClockDep,
              limit: Annotated[int, Query(ge=1, le=200, description="work orders shown per group, oldest first")] = 50) -> dict:
    found = inbox(session, actor)
    shown = [order for group in found.groups for order in group.orders[:limit]]
    rows = {row["id"]: row for row in summaries(session, shown, clock.now())}
    return {
        "total": found.total,
        "groups": [
            {"process": group.process, "event": group.event, "label": group.label.model_dump(), "verdict": group.verdict,
             "count": group.count,
             "items": [{**rows[order.id], "available_events": [t.name for t in found.allowed[order.id]]}
                       for order in group.orders[:limit]]}
            for group in found.groups
        ],
    }
