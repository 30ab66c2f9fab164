"""The cockpit's cost does not grow with the months shown or the work orders: each figure is one query for the
whole scope and one grouped by month, never a query per month."""
from datetime import datetime

from engine.reports.dashboard import Scope, figures
from statements_support import statements

pytest_plugins = ["cockpit_data"]  # the `month` fixture: a hand-made month
T = datetime.fromisoformat
NOW = T("2026-10-31T12:00:00+08:00")  # as in cockpit_data
YEAR = Scope(start=T("2025-11-01T00:00:00+08:00"), end=T("2026-11-01T00:00:00+08:00"))
TWO_MONTHS = Scope(start=T("2026-09-01T00:00:00+08:00"), end=T("2026-11-01T00:00:00+08:00"))
BOUND = 60  # today's passes (the scope, its months, the targets' baseline) with room for a figure or two more


def cost(session, scope: Scope) -> tuple[int, int]:
    figures(session, None, scope, NOW, monthly=True)  # definitions and targets read once, as in a running server
    with statements(session.get_bind()) as sent:
        shown = figures(session, None, scope, NOW, monthly=True)
    return len(sent), len(shown["by_month"])


def test_a_year_month_by_month_costs_what_two_months_cost(session, month):
    year, twelve = cost(session, YEAR)
    two, months = cost(session, TWO_MONTHS)
    assert (twelve, months) == (12, 2)
    assert year == two <= BOUND


def test_the_statements_do_not_grow_with_the_work_orders(session, request):
    empty, _ = cost(session, YEAR)
    request.getfixturevalue("month")  # nine work orders with their timers, history, verdicts and escalations
    assert cost(session, YEAR)[0] == empty
