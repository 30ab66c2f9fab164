"""The sign-in limit holds across web worker processes: failures are counted in the shared database.

Two `houqin serve` processes on different loopback ports serve one database, as two
uvicorn workers behind a proxy would. Guesses are split between them; the sixth attempt
is refused on either, so N workers do not make the limit N times looser. The servers run
on real time; each is taken as up when it logs that its start-up is complete, nothing is timed.
"""
import time

import pytest

from conftest import PASSWORD
from server_support import DEADLINE, Server


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
        assert locked.json()["code"] == "too_many_sign_ins" and "nurse" in locked.json()["detail"]
        assert 0 < int(locked.headers["retry-after"]) <= 900
    assert second.sign_in("tech", PASSWORD).status_code == 200  # another username is not locked out
