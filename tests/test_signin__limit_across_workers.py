"""The sign-in limit holds across web worker processes: failures are counted in the shared database.

Two `houqin serve` processes on different loopback ports serve one database, as two
uvicorn workers behind a proxy would. Guesses are split between them; the sixth attempt
is refused on either, so N workers do not make the limit N times looser. The servers run
on real time; each is taken as up when it logs that its start-up is complete, nothing is timed.
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

from conftest import PASSWORD

DEADLINE = 60  # seconds for a server to start on a loaded machine
ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """`python -m web.cli serve` in its own process, without the sweeper."""

    def __init__(self, db_url: str):
        self.port = _free_port()
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        env.pop("HOUQIN_TEST_CLOCK", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "web.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--db", db_url, "--no-sweeper"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: [self.log.put(line) for line in self.process.stderr], daemon=True).start()

    def wait_until_up(self, deadline: float) -> None:
        """Until uvicorn logs that start-up is complete (its log goes to stderr)."""
        while True:
            try:
                line = self.log.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                pytest.fail(f"the server on port {self.port} did not start")
            if "Application startup complete" in line:
                return

    def sign_in(self, username: str, password: str) -> httpx.Response:
        return httpx.post(f"{self.url}/api/v1/auth/token", data={"username": username, "password": password}, timeout=30)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def two_servers(db_url, make_user):
    make_user("nurse", "requester", department="心内科")
    make_user("tech", "technician", department="后勤保障部")
    servers = [Server(db_url), Server(db_url)]
    try:
        deadline = time.monotonic() + DEADLINE
        for server in servers:
            server.wait_until_up(deadline)
        yield servers
    finally:
        for server in servers:
            server.stop()


def test_five_failures_split_between_two_workers_lock_the_username_on_both(two_servers):
    first, second = two_servers
    for server in (first, second, first, second, first):
        assert server.sign_in("nurse", "guess").status_code == 401
    for server in (second, first):  # the sixth attempt, on either worker, even with the right password
        locked = server.sign_in("nurse", PASSWORD)
        assert locked.status_code == 429, locked.text
        assert "too many failed sign-ins for 'nurse'" in locked.json()["detail"]
        assert 0 < int(locked.headers["retry-after"]) <= 900
    assert second.sign_in("tech", PASSWORD).status_code == 200  # another username is not locked out
