"""Helpers shared by the SLA, escalation and notification tests."""
from datetime import datetime


def at(text: str) -> datetime:
    """A local time in the hospital's zone (Asia/Shanghai)."""
    return datetime.fromisoformat(text + "+08:00")


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def timers_named(order: dict, name: str) -> list[dict]:
    """Every cycle of one timer of a work order as the API shows it, oldest first."""
    return [timer for timer in order["sla"] if timer["name"] == name]


def due(order: dict, name: str) -> datetime:
    """The due time of the latest cycle of a timer."""
    return instant(timers_named(order, name)[-1]["due_at"])


def sweep(api, username: str) -> list[dict]:
    response = api.as_(username).post("/api/v1/sla/sweep")
    assert response.status_code == 200, response.text
    return response.json()["fired"]
