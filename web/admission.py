"""Admission: a few requests at work at once per process, the others waiting their turn on the event loop.

A request's work is Python under one lock (the GIL) plus its database round
trips. Forty of them at once in forty threads do not finish sooner than a few
at a time: they take turns at the lock, each thread switch costs, every one of
them holds a database connection meanwhile, and the last to finish waits
longest. So at most `limit` requests are let in at once; the rest wait, first
come first served, without a thread or a connection.

A request that is still at work after `turn` seconds (the cockpit over years,
an export, a what-if replay) gives its turn to the next one and carries on
beside it: a slow request never holds up the quick ones for longer than that.
"""
import asyncio
from weakref import WeakKeyDictionary

from starlette.types import ASGIApp, Receive, Scope, Send


class AdmissionMiddleware:
    def __init__(self, app: ASGIApp, limit: int, turn: float) -> None:
        self.app, self.limit, self.turn = app, limit, turn
        # One set of slots per event loop: a server has one; a test client may run each request in its own.
        self._slots: WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = WeakKeyDictionary()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        slots = self._slots.get(loop)
        if slots is None:
            slots = self._slots[loop] = asyncio.Semaphore(self.limit)
        await slots.acquire()
        given_back = False

        def give_back() -> None:
            nonlocal given_back
            if not given_back:
                given_back = True
                slots.release()

        slow = loop.call_later(self.turn, give_back)
        try:
            await self.app(scope, receive, send)
        finally:
            slow.cancel()
            give_back()
