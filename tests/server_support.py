"""`houqin serve` in its own process, for tests that need uvicorn itself: its workers, its headers.

The server runs on real time and without the sweeper; it is taken as up when it logs that its
start-up is complete, nothing is timed.
"""
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

DEADLINE = 60  # seconds for a server to start on a loaded machine
ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """`python -m web.cli serve --workers N` on a free loopback port, serving `db_url`."""

    def __init__(self, db_url: str, workers: int = 1):
        self.port = _free_port()
        self.workers = workers
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        env.pop("HOUQIN_TEST_CLOCK", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "web.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--db", db_url, "--no-sweeper", "--workers", str(workers)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log: queue.Queue = queue.Queue()
        self.lines: list[str] = []  # everything it logged, for a failing test's message
        threading.Thread(target=self._read_log, daemon=True).start()

    def _read_log(self) -> None:
        for line in self.process.stderr:
            self.lines.append(line)
            self.log.put(line)

    def wait_until_up(self, deadline: float | None = None) -> None:
        """Until every worker logs that its start-up is complete (uvicorn logs to stderr)."""
        deadline = deadline or time.monotonic() + DEADLINE
        started = 0
        while started < self.workers:
            try:
                line = self.log.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                pytest.fail(f"the server on port {self.port} did not start:\n{''.join(self.lines)}")
            started += "Application startup complete" in line

    def sign_in(self, username: str, password: str) -> httpx.Response:
        return httpx.post(f"{self.url}/api/v1/auth/token", data={"username": username, "password": password}, timeout=30)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
