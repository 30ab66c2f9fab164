"""Limiting password guesses: a few failures per username and address, then a wait.

Kept in memory, per process: with several workers each counts on its own, so the
real limit is `FAILURES` × workers per window — still far too slow for guessing
an argon2-hashed password, and it needs no shared store. Time comes from the
engine's clock, so tests move it instead of waiting. Each app has its own
(`app.state.login_limiter`, made in web.pages.mount).
"""
import math
import threading
from collections import deque
from datetime import datetime, timedelta

from engine.clock import clock

FAILURES = 5
WINDOW = timedelta(minutes=15)
_MAX_KEYS = 100_000  # bounds memory under a spray of made-up usernames


class LoginLimiter:
    def __init__(self, failures: int = FAILURES, window: timedelta = WINDOW):
        self.failures, self.window = failures, window
        self._seen: dict[tuple[str, str], deque[datetime]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(username: str, address: str) -> tuple[str, str]:
        return username.strip().lower()[:64], address

    def _recent(self, key, now: datetime) -> deque[datetime]:
        times = self._seen.get(key, deque())
        while times and now - times[0] >= self.window:
            times.popleft()
        return times

    def retry_after(self, username: str, address: str) -> int:
        """Seconds until another attempt is allowed; 0 when it is allowed now."""
        now = clock.now()
        with self._lock:
            times = self._recent(self._key(username, address), now)
            if len(times) < self.failures:
                return 0
            return max(1, math.ceil((times[0] + self.window - now).total_seconds()))

    def failed(self, username: str, address: str) -> None:
        now = clock.now()
        with self._lock:
            if len(self._seen) >= _MAX_KEYS:
                self._seen = {k: v for k, v in self._seen.items() if v and now - v[-1] < self.window}
            key = self._key(username, address)
            times = self._recent(key, now)
            times.append(now)
            self._seen[key] = times

    def succeeded(self, username: str, address: str) -> None:
        with self._lock:
            self._seen.pop(self._key(username, address), None)
