"""Does the at-risk queue see breaches coming? Trained on months 1-4 of the demo hospital, tested on 5-6.

    python bench/risk_backtest.py              # six months of demo history, seed 2026

Prints, for the model (engine/foresight/risk.py) and the naive rule "flag when 80% of the time is used",
the Brier score over every 5% checkpoint of every timer of months 5-6 (lower is better) and the share of
real breaches flagged at least 30 minutes before their due time (higher is better), with the share of
timers met in time that were flagged anyway (engine/foresight/backtest.py).
"""
import argparse
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE] + [str(_HERE)]

from sqlmodel import Session  # noqa: E402

import risk_demo  # noqa: E402
from engine.demo.history import DAYS_PER_MONTH  # noqa: E402
from engine.foresight import backtest  # noqa: E402
from engine.storage import db  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--months", type=float, default=6, help="months of demo history (the last third is tested)")
    parser.add_argument("--seed", type=int, default=risk_demo.SEED)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        began = time.perf_counter()
        url = risk_demo.build(Path(directory) / "demo.db", months=args.months, seed=args.seed)
        print(f"demo history: {args.months:g} months, seed {args.seed}, built in {time.perf_counter() - began:.0f} s")
        now = risk_demo.NOW
        start = now - timedelta(days=args.months * DAYS_PER_MONTH)
        split = start + timedelta(days=args.months * 2 / 3 * DAYS_PER_MONTH)
        began = time.perf_counter()
        with Session(db.get_engine(url)) as session:
            result = backtest.run(session, start=start, split=split, end=now)
        print(f"trained on {result.trained_on} timers (months 1-{args.months * 2 / 3:g}), "
              f"tested on {result.tested} (the rest), in {time.perf_counter() - began:.1f} s")
        print(f"{'':8}{'Brier':>8}{'breaches flagged >=30 min ahead':>34}{'met flagged anyway':>21}")
        for name, figures in (("model", result.model), ("naive", result.naive)):
            print(f"{name:8}{figures.brier:8.4f}{figures.breaches_flagged_ahead:>27.1%} of {figures.breaches:<4}"
                  f"{figures.met_flagged:>16.1%} of {figures.met}")
        better = result.model.brier < result.naive.brier and \
            result.model.breaches_flagged_ahead > result.naive.breaches_flagged_ahead
        print(f"model beats the naive rule on both: {'yes' if better else 'NO'} "
              f"(Brier {result.naive.brier / max(result.model.brier, 1e-9):.2f}x lower)")


if __name__ == "__main__":
    main()
