"""A few requests at work at once per process; the others wait their turn, and a slow one lets the next in."""
import asyncio

import pytest
from pydantic import ValidationError

from engine.settings import Settings
from web.admission import AdmissionMiddleware


class Held:
    """An app whose requests each wait until the test lets them finish; it records who got in."""

    def __init__(self) -> None:
        self.entered: list[str] = []
        self.gates: dict[str, asyncio.Event] = {}

    async def __call__(self, scope, receive, send) -> None:
        name = scope["path"].strip("/")
        self.gates.setdefault(name, asyncio.Event())
        self.entered.append(name)
        await self.gates[name].wait()
        if name.startswith("fail"):
            raise RuntimeError("the route failed")

    def let_finish(self, name: str) -> None:
        self.gates.setdefault(name, asyncio.Event()).set()


def _request(app, name: str):
    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        pass

    return asyncio.ensure_future(app({"type": "http", "method": "GET", "path": f"/{name}", "headers": []}, receive, send))


async def _settle() -> None:
    """Let every task that can run, run (the event loop's turns, not time)."""
    for _ in range(20):
        await asyncio.sleep(0)


def test_beyond_the_limit_a_request_waits_until_one_before_it_finishes():
    async def scenario():
        held = Held()
        app = AdmissionMiddleware(held, limit=2, turn=3600)
        tasks = [_request(app, name) for name in ("a", "b", "c")]
        await _settle()
        assert held.entered == ["a", "b"]
        held.let_finish("a")
        await _settle()
        assert held.entered == ["a", "b", "c"]
        for name in ("b", "c"):
            held.let_finish(name)
        await asyncio.gather(*tasks)

    asyncio.run(scenario())


def test_a_request_still_at_work_after_its_turn_lets_the_next_in_beside_it_and_gives_its_slot_back_once():
    async def scenario():
        held = Held()
        quick = AdmissionMiddleware(held, limit=1, turn=0)  # every request's turn is over at once
        slow, after = _request(quick, "slow"), _request(quick, "after")
        await _settle()
        assert held.entered == ["slow", "after"]
        held.let_finish("slow")
        held.let_finish("after")
        await asyncio.gather(slow, after)

        quick.turn = 3600  # the same slots: one, not one per request that gave its turn back early
        first, second = _request(quick, "first"), _request(quick, "second")
        await _settle()
        assert held.entered[-1] == "first" and "second" not in held.entered
        held.let_finish("first")
        held.let_finish("second")
        await asyncio.gather(first, second)

    asyncio.run(scenario())


def test_a_request_that_fails_gives_its_slot_back():
    async def scenario():
        held = Held()
        app = AdmissionMiddleware(held, limit=1, turn=3600)
        failing, waiting = _request(app, "fail"), _request(app, "next")
        await _settle()
        assert held.entered == ["fail"]
        held.let_finish("fail")
        await _settle()
        assert held.entered == ["fail", "next"]
        assert isinstance(failing.exception(), RuntimeError)
        held.let_finish("next")
        await waiting

    asyncio.run(scenario())


def test_the_limit_and_the_turn_are_settings_with_bounds(monkeypatch):
    monkeypatch.setenv("HOUQIN_REQUESTS_AT_ONCE", "6")
    monkeypatch.setenv("HOUQIN_REQUEST_TURN", "0.2")
    assert (Settings().requests_at_once, Settings().request_turn) == (6, 0.2)
    for name, value in (("HOUQIN_REQUESTS_AT_ONCE", "0"), ("HOUQIN_REQUEST_TURN", "0")):
        monkeypatch.setenv(name, value)
        with pytest.raises(ValidationError):
            Settings()
        monkeypatch.delenv(name)


def test_the_app_answers_through_its_admission(api):
    api.user("nurse", "requester", department="心内科")
    assert api.as_("nurse").get("/api/v1/me").status_code == 200
