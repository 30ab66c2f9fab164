"""The risk ledger (风险台账): every hazard a row, every failed re-inspection kept, filterable."""
from datetime import datetime

pytest_plugins = ["ledger_data"]  # the `ledger` fixture: three hazards
T = datetime.fromisoformat


def rows(api, who="boss", expect=200, **params):
    response = api.as_(who).get("/api/v1/ledger", params=params)
    assert response.status_code == expect, response.text
    return response.json()


def test_a_hazard_that_failed_re_inspection_once_keeps_that_round_in_its_row(ledger):
    api, made = ledger
    [row] = rows(api, category="fire")["items"]
    assert (row["number"], row["title"], row["location"]) == (made["boxes"]["number"], "消防通道堆放纸箱", "门诊楼3F 消防通道")
    assert row["found_by"] == "inspector" and T(row["found_at"]) == T("2026-10-12T09:30:00+08:00")
    assert row["department"] == "门诊部"
    assert row["fields"] == {"category": "fire", "risk_level": "high", "responsible_department": "门诊部", "measures": "纸箱已清运"}
    assert row["status"] == "closed_out" and row["status_label"] == {"zh": "已销号", "en": "Closed out"}
    assert [(r["round"], r["result"], r["by"], T(r["at"]), r["comment"]) for r in row["inspections"]] == [
        (1, "failed", "inspector2", T("2026-10-13T11:00:00+08:00"), "仍有纸箱"),
        (2, "passed", "inspector", T("2026-10-14T14:00:00+08:00"), ""),
    ]
    assert row["failed_rounds"] == 1
    assert row["closed_out_by"] == "inspector" and T(row["closed_out_at"]) == T("2026-10-14T14:00:00+08:00")
    # high risk: 3 working days from Monday 09:30, plus the hour spent waiting for the first re-inspection
    assert T(row["deadline"]) == T("2026-10-15T10:30:00+08:00") and row["overdue"] is False


def test_an_open_major_hazard_past_its_24_hours_is_shown_overdue(ledger):
    api, made = ledger
    [row] = rows(api, risk_level="major")["items"]
    assert row["number"] == made["door"]["number"] and row["status"] == "rectifying"
    assert T(row["deadline"]) == T("2026-10-13T10:00:00+08:00") and row["overdue"] is True
    assert row["inspections"] == [] and row["closed_out_by"] is None and row["closed_out_at"] is None


def test_the_ledger_filters_by_status_department_and_the_day_found(ledger):
    api, made = ledger
    numbers = lambda **params: [r["number"] for r in rows(api, **params)["items"]]  # noqa: E731
    everything = rows(api)
    assert everything["total"] == 3 and everything["process"] == "hazard"
    assert everything["title"] == {"zh": "风险台账", "en": "Risk ledger"}
    assert numbers() == [made["crack"]["number"], made["door"]["number"], made["boxes"]["number"]]  # newest first
    assert numbers(status="closed_out") == numbers(status="closed") == [made["boxes"]["number"]]
    assert numbers(status="open") == [made["crack"]["number"], made["door"]["number"]]
    assert numbers(department="门诊部") == [made["boxes"]["number"]]
    assert numbers(**{"from": "2026-10-13"}) == [made["crack"]["number"]]
    assert numbers(**{"to": "2026-10-12"}) == [made["door"]["number"], made["boxes"]["number"]]
    assert numbers(**{"from": "2026-10-12T09:45:00+08:00", "to": "2026-10-12"}) == [made["door"]["number"]]
    page = rows(api, limit=1, offset=1)
    assert page["total"] == 3 and [r["number"] for r in page["items"]] == [made["door"]["number"]]


def test_a_filter_that_cannot_match_says_what_to_fix(ledger):
    api, _ = ledger
    assert "category must be one of fire, security" in rows(api, expect=422, category="flood")["detail"]
    assert "cannot filter on 'colour'" in rows(api, expect=422, colour="red")["detail"]
    assert "status must be open, closed or one of" in rows(api, expect=422, status="lost")["detail"]
    assert "is not a day" in rows(api, expect=422, **{"from": "last week"})["detail"]
    assert "time zone" in rows(api, expect=422, **{"from": "2026-10-01T08:00"})["detail"]
    assert rows(api, expect=404, process="repair")["detail"].startswith("process 'repair' keeps no ledger")


def test_people_see_only_the_ledger_rows_they_may_see(ledger):
    api, _ = ledger
    assert rows(api, "nurse")["total"] == 0
    assert rows(api, "inspector2")["total"] == 3
