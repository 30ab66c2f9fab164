"""Evaluated, not asserted: on the demo hospital, trained on months 1-4 and tested on 5-6, the at-risk model
beats the naive rule "flag when 80% of the time is used" on both figures the README shows."""
from datetime import timedelta

from engine.demo.history import DAYS_PER_MONTH
from engine.foresight import backtest
from foresight_support import MONTHS, demo_history  # noqa: F401 (the fixture)


def test_the_model_beats_flagging_at_eighty_percent_on_the_demo_history(demo_history):  # noqa: F811
    start = demo_history.now - timedelta(days=MONTHS * DAYS_PER_MONTH)
    split = start + timedelta(days=4 * DAYS_PER_MONTH)
    with demo_history.session() as session:
        result = backtest.run(session, start=start, split=split, end=demo_history.now)
    assert result.trained_on > 10_000 and result.tested > 5_000 and result.model.breaches > 100
    assert result.model.brier < result.naive.brier
    assert result.model.breaches_flagged_ahead > result.naive.breaches_flagged_ahead
    assert result.model.met_flagged < 0.1  # not by flagging everything
