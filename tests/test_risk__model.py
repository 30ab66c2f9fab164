"""The chance a running timer misses its deadline, learnt from how similar work orders went.

Histories are made by the live engine (tests/risk_support.py): high-priority repairs (respond within
30 minutes, around the clock) accepted after so many minutes, cancelled, or still waiting.
"""
from datetime import timedelta

import pytest
from scipy import stats

from engine.foresight import risk
from engine.storage.models import SlaTimer, User
from risk_support import ACCEPT, CANCEL, accepted_after, file_repairs, people as make_people
from sla_support import at

START = at("2026-03-02T08:00:00")


@pytest.fixture
def who(make_user):
    return make_people(make_user)


def _fit_before_them(session, now):
    """The model as it stood before the repairs filed in the last half hour: they are scored, not learnt from."""
    return risk.fit(session, asof=now - timedelta(minutes=30))


def _score(session, order_id, now, fitted):
    return {s.risk.timer: s.risk for s in risk.score_open(session, now, fitted=fitted) if s.work_order_id == order_id}


def test_a_repair_like_those_that_missed_is_at_risk_and_one_like_those_that_made_it_is_not(session, who):
    # plumbing: 4 in 30 accepted late; electrical: 18 in 30
    file_repairs(session, who, start=START, category="plumbing", outcomes=accepted_after(*[10] * 26, *[45] * 4))
    file_repairs(session, who, start=START, category="electrical", outcomes=accepted_after(*[10] * 12, *[45] * 18))
    now = START + timedelta(days=3)
    plumbing, electrical = file_repairs(session, who, start=now - timedelta(minutes=6), spacing=timedelta(0),
                                        outcomes=[None], category="plumbing") + \
        file_repairs(session, who, start=now - timedelta(minutes=6), outcomes=[None], category="electrical")
    fitted = _fit_before_them(session, now)
    calm, worrying = _score(session, plumbing, now, fitted)["response"], _score(session, electrical, now, fitted)["response"]
    assert calm.probability == pytest.approx(4 / 30)
    assert worrying.probability == pytest.approx(18 / 30)
    assert worrying.used == pytest.approx(6 / 30)
    assert worrying.similar == 30
    assert worrying.group == {"process": "repair", "timer": "response", "priority": "high", "category": "electrical",
                              "team": session.get(User, who["tech"].id).team_id, "state": "assigned"}


def test_the_longer_a_repair_has_waited_the_likelier_it_misses(session, who):
    file_repairs(session, who, start=START, outcomes=accepted_after(*range(4, 28), *range(20, 28), *[40] * 12))
    now = START + timedelta(days=2)
    early, late = (file_repairs(session, who, start=now - timedelta(minutes=m), outcomes=[None])[0] for m in (3, 19))
    fitted = _fit_before_them(session, now)
    first, second = _score(session, early, now, fitted)["response"], _score(session, late, now, fitted)["response"]
    assert first.probability == pytest.approx(12 / 44)
    assert second.probability == pytest.approx(12 / 28)  # of those still waiting after 19 minutes, 12 went late
    assert second.probability > first.probability


def test_a_cancelled_or_still_waiting_repair_is_not_counted_as_answered_in_time(session, who):
    """Kaplan-Meier: a timer that stopped without an answer is censored where it stopped, not a success."""
    outcomes = [(5, CANCEL)] * 25 + [(50, ACCEPT)] * 20
    file_repairs(session, who, start=START, outcomes=outcomes)
    now = START + timedelta(days=2)
    waiting = file_repairs(session, who, start=now - timedelta(minutes=7), outcomes=[None])[0]
    found = _score(session, waiting, now, _fit_before_them(session, now))["response"]
    assert found.probability == pytest.approx(1.0)  # every one still waiting at 7 minutes answered late
    assert found.similar == 20


def test_the_survival_curve_is_kaplan_meiers_as_scipy_computes_it(session, who):
    outcomes = [(m, ACCEPT) for m in (3, 8, 8, 14, 22, 29, 31, 44, 60)] + [(6, CANCEL), (17, CANCEL)]
    file_repairs(session, who, start=START, outcomes=outcomes)
    model = risk.fit(session, asof=START + timedelta(days=1))
    curve = model.groups[(len(risk.LEVELS) - 1, "repair", "response")]
    expected = stats.ecdf(stats.CensoredData(uncensored=[m / 30 for m in (3, 8, 8, 14, 22, 29, 31, 44, 60)],
                                             right=[6 / 30, 17 / 30])).sf
    for share in (0, 0.1, 0.2, 0.5, 0.95, 1.0, 1.2, 3):
        assert curve.survival_at(share) == pytest.approx(float(expected.evaluate(share)))


def test_a_small_team_is_judged_by_its_process_and_timer_priority_category_and_state(session, who, make_user):
    file_repairs(session, who, start=START, outcomes=accepted_after(*[10] * 20, *[45] * 20))
    make_user("newcomer", "technician", department="后勤保障部", team="电梯班")  # a team with no past
    now = START + timedelta(days=2)
    order_id = file_repairs(session, who, start=now - timedelta(minutes=5), outcomes=[None])[0]
    fitted = _fit_before_them(session, now)
    from engine.orders import workorders
    workorders.fire(session, who["dispatcher"], order_id, "reassign", workorders.EventInput(assignee="newcomer"), now)
    session.commit()
    found = _score(session, order_id, now, fitted)["response"]
    assert "team" not in found.group and found.group["category"] == "plumbing"
    assert found.probability == pytest.approx(0.5)


def test_too_few_similar_repairs_give_no_score(session, who):
    file_repairs(session, who, start=START, outcomes=accepted_after(*[45] * (risk.MIN_SIMILAR - 1)))
    now = START + timedelta(days=1)
    order_id = file_repairs(session, who, start=now - timedelta(minutes=5), outcomes=[None])[0]
    assert _score(session, order_id, now, _fit_before_them(session, now)).get("response") is None


def test_what_happened_after_the_fitting_moment_is_not_learnt(session, who):
    """A backtest trains on the past alone: a timer still running at `asof` is censored there."""
    file_repairs(session, who, start=START, outcomes=accepted_after(*[10] * 20, *[45] * 20))
    cut = START + 39 * timedelta(minutes=50) + timedelta(minutes=20)  # the last repair is 20 minutes in
    curve = risk.fit(session, asof=cut).groups[(len(risk.LEVELS) - 1, "repair", "response")]
    shares = sorted(round(share, 6) for share in curve.shares)
    assert shares == [round(10 / 30, 6)] * 20 + [round(20 / 30, 6)] + [1.5] * 19  # the last one: 20 minutes, no more


def test_the_model_serves_until_it_is_due_for_a_refit(session, who):
    file_repairs(session, who, start=START, outcomes=accepted_after(*[10] * 30))
    now = START + timedelta(days=1)
    first = risk.model(session, now)
    assert risk.model(session, now + risk.REFRESH - timedelta(seconds=1)) is first
    refreshed = risk.model(session, now + risk.REFRESH)
    assert refreshed is not first and refreshed.fitted_at == now + risk.REFRESH


def test_late_and_stopped_timers_are_not_scored(session, who):
    file_repairs(session, who, start=START, outcomes=accepted_after(*[10] * 20, *[45] * 20))
    now = START + timedelta(days=2)
    late = file_repairs(session, who, start=now - timedelta(minutes=31), outcomes=[None])[0]
    fitted = _fit_before_them(session, now)
    assert "response" not in _score(session, late, now, fitted)  # late already: on the overdue list
    answered = session.get(SlaTimer, 1)
    assert (answered.name, answered.status) == ("response", "met")
    assert all(s.timer_id != answered.id for s in risk.score_open(session, now, fitted=fitted))


def test_nothing_is_said_of_a_deadline_no_similar_timer_has_reached_yet(session, who):
    """The repairs' resolution timers (8 hours) all still run, none for 8 hours yet: nobody knows how they end."""
    file_repairs(session, who, start=START, outcomes=accepted_after(*[5] * 30), spacing=timedelta(minutes=10),
                 resolve_after=None)
    now = START + timedelta(hours=5)
    order_id = file_repairs(session, who, start=now - timedelta(minutes=5), outcomes=[None])[0]
    fitted = risk.fit(session, asof=now - timedelta(minutes=10))
    assert set(_score(session, order_id, now, fitted)) == {"response"}


def test_a_repair_filed_while_the_history_is_read_waits_for_the_next_fit(session, who, monkeypatch):
    """Another worker files a repair between the read of the orders and that of their timers: its timer is left
    for the next fit, never a failed sweep."""
    ids = file_repairs(session, who, start=START, category="plumbing", outcomes=accepted_after(*[10] * 5))
    period = {"asof": START + timedelta(days=1), "since": START - timedelta(days=1)}
    every = risk.samples(session, **period)
    whole = risk.orders_filed
    monkeypatch.setattr(risk, "orders_filed",
                        lambda *args: {key: order for key, order in whole(*args).items() if key != ids[-1]})
    assert 0 < len(risk.samples(session, **period)) < len(every)
