"""GET /api/v1/dashboard on the hand-made month: filters, visibility, month by month, bad periods."""
from datetime import datetime

import pytest

from conftest import PASSWORD

pytest_plugins = ["cockpit_data"]  # the `month` fixture: a hand-made month
NOW = datetime.fromisoformat("2026-10-31T12:00:00+08:00")  # as in cockpit_data


@pytest.fixture
def cockpit(api, month, test_clock):
    test_clock.set(NOW)
    for name in ("boss", "nurse"):
        response = api.client.post("/api/v1/auth/token", data={"username": name, "password": PASSWORD})
        api.tokens[name] = response.json()["access_token"]

    def get(who="boss", expect=200, **params):
        response = api.as_(who).get("/api/v1/dashboard", params=params)
        assert response.status_code == expect, response.text
        return response.json()

    return get


def test_a_supervisor_sees_the_month_and_its_line(cockpit):
    october = cockpit(**{"from": "2026-10-01", "to": "2026-10-31"})
    assert october["total"] == 8 and october["response_minutes"]["p90"] == 42.0
    assert [m["month"] for m in october["by_month"]] == ["2026-10"]
    assert october["by_month"][0]["total"] == 8


def test_without_a_start_the_last_twelve_months_are_shown(cockpit):
    body = cockpit()
    assert body["total"] == 9
    assert [m["month"] for m in body["by_month"]][0] == "2025-11" and len(body["by_month"]) == 12
    assert [m["total"] for m in body["by_month"]][-2:] == [1, 8]


def test_filters_by_team_department_and_process(cockpit):
    period = {"from": "2026-10-01", "to": "2026-10-31"}
    assert cockpit(team="水电班", **period)["labour_minutes"] == 90
    assert cockpit(department="急诊科", **period)["hazards_closed_out"] == 1
    assert cockpit(process="complaint", **period)["response_minutes"]["median"] == 15.0


def test_a_clinical_department_sees_only_its_own_work_orders(cockpit):
    mine = cockpit("nurse", **{"from": "2026-10-01", "to": "2026-10-31"})
    assert mine["total"] == 4 and mine["by_department"] == {"心内科": 4}


def test_a_period_that_cannot_be_read_says_what_to_fix(cockpit):
    assert "'to' must come after 'from'" in cockpit(expect=422, **{"from": "2026-10-31", "to": "2026-10-01"})["detail"]
    assert "is not a day" in cockpit(expect=422, **{"from": "October"})["detail"]
    assert "time zone" in cockpit(expect=422, **{"from": "2026-10-01T00:00:00"})["detail"]
