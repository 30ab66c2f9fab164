"""Every cockpit figure on a hand-made month (tests/cockpit_data.py), against answers worked out by hand."""
from datetime import datetime

import pytest

from engine.reports.dashboard import Scope, figures

pytest_plugins = ["cockpit_data"]  # the `month` fixture: a hand-made month
T = datetime.fromisoformat
NOW = T("2026-10-31T12:00:00+08:00")  # as in cockpit_data

OCTOBER = Scope(start=T("2026-10-01T00:00:00+08:00"), end=T("2026-11-01T00:00:00+08:00"))


@pytest.fixture
def october(session, month):
    return figures(session, None, OCTOBER, NOW)


def test_volume_and_completion(october):
    assert october["total"] == 8  # R1-R5, H1, H2, C1; S1 is September's
    assert october["by_process"] == {"repair": 5, "hazard": 2, "complaint": 1}
    assert october["by_state"] == {"closed": 4, "in_progress": 1, "reported": 1, "closed_out": 1, "rectifying": 1}
    assert october["by_department"] == {"心内科": 4, "急诊科": 4}
    assert (october["completed"], october["completion_rate"]) == (5, 0.625)


def test_response_time_median_and_90th_percentile_in_working_time(october):
    # Response timers: repair `response` (named in repair.yaml), complaint `acceptance` (its first timer);
    # hazards declare none. Ended ones: 600 s, 900 s, 1200 s, 1800 s, 3000 s.
    # median: the 3rd of 5 = 1200 s = 20 min; 90th: position 0.9 x 4 = 3.6 → 1800 + 0.6 x 1200 = 2520 s = 42 min.
    assert october["response_minutes"] == {"count": 5, "average": 25.0, "median": 20.0, "p90": 42.0}
    assert october["average_response_minutes"] == 25.0
    # repair alone, 600/1200/1800/3000: median 1500 s = 25 min; 90th at 2.7 → 1800 + 0.7 x 1200 = 2640 s = 44 min
    assert october["response_by_process"] == {
        "repair": {"timer": "response", "count": 4, "average": 27.5, "median": 25.0, "p90": 44.0},
        "complaint": {"timer": "acceptance", "count": 1, "average": 15.0, "median": 15.0, "p90": 15.0},
    }


def test_on_time_rate_per_timer(october):
    rates = {(t["process"], t["timer"]): (t["met"], t["ended"], t["rate"], t["average_minutes"]) for t in october["timers"]}
    assert rates == {
        ("complaint", "acceptance"): (1, 1, 1.0, 15.0),
        ("complaint", "reply"): (1, 1, 1.0, 333.3),
        ("hazard", "rectification"): (1, 1, 1.0, 1440.0),
        ("repair", "resolution"): (3, 4, 0.75, 440.8),  # (3600 + 7200 + 90000 + 5000) / 4 s; R4's still runs
        ("repair", "response"): (3, 4, 0.75, 27.5),
    }
    assert october["on_time_rate"] == round(9 / 11, 4)
    assert october["on_time"]["response"] == {"met": 3, "ended": 4, "rate": 0.75, "average_minutes": 27.5}
    [label] = [t["label"] for t in october["timers"] if t["timer"] == "response"]
    assert label == {"zh": "响应时限", "en": "Response"}


def test_timers_of_one_name_in_two_processes_are_taken_together_in_the_first_cockpits_view(session, month):
    """`on_time` is by timer name whatever the process: a complaint timer named `response` (900 s, breached) joins
    the repairs' four (600, 1200, 1800 met; 3000 breached), its average over all five."""
    from engine.storage.models import SlaTimer, WorkOrder
    from sqlmodel import select

    complaint = session.exec(select(WorkOrder.id).where(WorkOrder.number == "T-C1")).one()
    session.add(SlaTimer(work_order_id=complaint, name="response", cycle=1, calendar="24x7", status="breached",
                         started_at=T("2026-10-01T00:00:00+08:00"), due_at=T("2026-10-02T00:00:00+08:00"),
                         working_seconds=900, breached=True))
    session.commit()
    shown = figures(session, None, OCTOBER, NOW)
    assert shown["on_time"]["response"] == {"met": 3, "ended": 5, "rate": 0.6, "average_minutes": 25.0}
    rows = {(t["process"], t["timer"]): (t["met"], t["ended"], t["average_minutes"]) for t in shown["timers"]}
    assert (rows[("repair", "response")], rows[("complaint", "response")]) == ((3, 4, 27.5), (0, 1, 15.0))


def test_reopen_satisfaction_and_auto_confirmation(october):
    # Reached their feedback state: R1, R2, R3 (resolved) and C1 (replied); R2 was reopened.
    assert (october["reopened"], october["reached_feedback"], october["reopen_rate"]) == (1, 4, 0.25)
    # Real verdicts: R1 satisfied 5, R2 unsatisfied, R2 satisfied 3, C1 satisfied 4; R3 closed by silence.
    assert (october["ratings"], october["satisfaction_rate"], october["average_rating"]) == (4, 0.75, 4.0)
    assert (october["auto_confirmed"], october["auto_confirmed_share"]) == (1, 0.2)


def test_overdue_escalated_and_hazards(october):
    assert october["overdue"] == 2  # R4's resolution and R5's response, both still running
    assert october["breached"] == 4  # and R2, R3, whose late timers have ended
    assert (october["escalated"], october["escalated_total"]) == (1, 2)  # R4 open; C1 was, and is closed
    assert (october["hazards_open"], october["hazards_closed_out"]) == (1, 1)


def test_labour_minutes_per_technician_count_every_visit(october):
    assert october["labour_by_technician"] == [
        {"technician": "tech1", "minutes": 90, "work_orders": 2},  # R1 30, R2 40 + 20
        {"technician": "tech2", "minutes": 60, "work_orders": 1},  # R3; the edit writing 999 is not labour
    ]
    assert october["labour_minutes"] == 150


def test_top_fault_categories_and_locations(october):
    assert october["top_categories"] == [
        {"process": "repair", "category": "hvac", "count": 2},
        {"process": "repair", "category": "plumbing", "count": 2},
        {"process": "hazard", "category": "fire", "count": 1},
        {"process": "hazard", "category": "security", "count": 1},
        {"process": "repair", "category": "electrical", "count": 1},
    ]
    # Faults only: the complaint about the canteen is not a fault location.
    assert october["top_locations"] == [
        {"location": "急诊大厅", "count": 3}, {"location": "住院楼5F", "count": 2}, {"location": "门诊2F", "count": 2}]


def test_the_same_figures_month_by_month(session, month):
    both = figures(session, None, Scope(start=T("2026-09-01T00:00:00+08:00"), end=OCTOBER.end), NOW, monthly=True)
    assert [m["month"] for m in both["by_month"]] == ["2026-09", "2026-10"]
    september, october = both["by_month"]
    assert (september["total"], september["response_minutes"]["median"], september["labour_minutes"]) == (1, 5.0, 25)
    assert (september["satisfaction_rate"], september["completion_rate"]) == (1.0, 1.0)
    assert october == {"month": "2026-10", **figures(session, None, OCTOBER, NOW)}
    assert both["total"] == 9


def test_figures_for_a_department_a_process_and_a_team(session, month):
    cardiology = figures(session, None, Scope(start=OCTOBER.start, end=OCTOBER.end, department="心内科"), NOW)
    assert (cardiology["total"], cardiology["by_process"]) == (4, {"repair": 3, "complaint": 1})
    repairs = figures(session, None, Scope(start=OCTOBER.start, end=OCTOBER.end, process="repair"), NOW)
    assert (repairs["total"], repairs["response_minutes"]["median"], repairs["hazards_open"]) == (5, 25.0, 0)
    plumbers = figures(session, None, Scope(start=OCTOBER.start, end=OCTOBER.end, team="水电班"), NOW)
    assert plumbers["total"] == 2 and plumbers["labour_by_technician"] == [
        {"technician": "tech1", "minutes": 90, "work_orders": 2}]
    assert figures(session, None, Scope(team="夜班"), NOW)["total"] == 0
