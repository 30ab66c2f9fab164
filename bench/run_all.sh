#!/usr/bin/env bash
# Houqin's benchmarks, one after the other, in under 10 minutes on a 2-core machine:
#
#     bash bench/run_all.sh            (as root on Debian: starts PostgreSQL and installs wrk if needed)
#
# Each prints its figures and a ratio against a baseline measured in the same run. Scales
# used here (each script's own defaults are the full sizes; see `python bench/X.py --help`):
#   transitions  2,000 repair orders (16,000 writes) on SQLite and on PostgreSQL (default 10,000)
#   api_load     15 s per run, 50 connections, uvicorn with one worker per core, PostgreSQL
#   cockpit      1,000,000 historical work orders on PostgreSQL, the dashboard timed once after a warm-up
#   sla_sweep    its own defaults, on PostgreSQL
#   dispatch     300 new work orders routed with 50 rules and 500 technicians, SQLite
#   demo history `init --demo` with six months of history, SQLite and PostgreSQL (target: under 60 s)
#   simulate     the demo hospital's six months (built first, about a minute, untimed), a repair draft replayed
#   risk_score   10,000 open repairs scored over 2 months of demo history, SQLite (target 1 s)
#   risk_backtest  6 months of demo history: trained on months 1-4, tested on 5-6, against the 80% rule
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}
[ -x "$python" ] || python=python3

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  bash .ci/postgres.sh
fi
if ! command -v wrk >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi

started=$(date +%s)
section() { printf '\n== %s (%ds so far)\n' "$1" $(( $(date +%s) - started )); }

section "1. transitions"
"$python" bench/transitions.py --db sqlite --orders 2000
"$python" bench/transitions.py --db postgresql --orders 2000

section "2. API"
"$python" bench/api_load.py --db postgresql --duration 15 --connections 50

section "3. cockpit"
"$python" bench/cockpit.py --db postgresql --orders 1000000 --repeat 1

section "4. SLA sweep"
if [ -f bench/sla_sweep.py ]; then
  "$python" bench/sla_sweep.py --db postgresql
else
  echo "bench/sla_sweep.py is not in this tree yet"
fi

section "5. dispatch"
"$python" bench/dispatch.py --db sqlite --orders 300

section "6. demo history"
"$python" bench/demo_history.py --db both --months 6

section "7. what-if"
"$python" bench/simulate.py

section "8. at-risk scoring"
"$python" bench/risk_score.py --open 10000

section "9. at-risk backtest"
"$python" bench/risk_backtest.py --months 6

printf '\nall benchmarks: %ds\n' $(( $(date +%s) - started ))
