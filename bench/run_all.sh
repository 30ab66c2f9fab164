#!/usr/bin/env bash
# Houqin's benchmarks, one after the other, in about 20 minutes on a 2-core machine:
#
#     bash bench/run_all.sh            (as root on Debian: starts PostgreSQL and installs wrk if needed)
#
# Each prints its figures and a ratio against a baseline measured in the same run; the speed
# targets' RATIO lines are gathered in a table at the end, each with whether it is met. Scales
# used here (each script's own defaults are the full sizes; see `python bench/X.py --help`):
#   transitions  2,000 repair orders (16,000 writes) on SQLite and on PostgreSQL (default 10,000)
#   reads        statements per request of the detail and list routes, SQLite and PostgreSQL
#   api_load     15 s per shape (3 rounds taking turns with the bare routes), 50 connections, 2 uvicorn workers, PostgreSQL
#   cockpit      1,000,000 historical work orders on PostgreSQL, the dashboard timed once after a warm-up
#   sla_sweep    its own defaults, on PostgreSQL
#   scale        the inbox and the queue lists among 10,000 and 1,000,000 work orders, both databases
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
log=$(mktemp)
exec > >(tee "$log") 2>&1  # everything printed is also kept: the RATIO lines make the table at the end
section() { printf '\n== %s (%ds so far)\n' "$1" $(( $(date +%s) - started )); }

section "1. transitions"
"$python" bench/transitions.py --db sqlite --orders 2000
"$python" bench/transitions.py --db postgresql --orders 2000

section "1b. reads: statements per request"
"$python" bench/reads.py --db sqlite
"$python" bench/reads.py --db postgresql

section "2. API"
"$python" bench/api_load.py --db postgresql --duration 15 --connections 50 --workers 2

section "3. cockpit"
"$python" bench/cockpit.py --db postgresql --orders 1000000 --repeat 1

section "4. SLA sweep"
if [ -f bench/sla_sweep.py ]; then
  "$python" bench/sla_sweep.py --db postgresql
else
  echo "bench/sla_sweep.py is not in this tree yet"
fi

section "4b. scale: the inbox and the lists, 10,000 vs 1,000,000 work orders"
"$python" bench/scale.py --db postgresql
"$python" bench/scale.py --db sqlite

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

# The speed targets, one line each: name, database, figure, target, verdict.
printf '\n%-28s %-11s %10s  %-8s %s\n' target database figure wanted verdict
grep '^RATIO ' "$log" | while read -r _ name database figure _ wanted verdict; do
  printf '%-28s %-11s %10s  %-8s %s\n' "$name" "$database" "$figure" "$wanted" "$verdict"
done
printf '%s of %s targets met\n' "$(grep '^RATIO ' "$log" | grep -vc 'NOT met$')" "$(grep -c '^RATIO ' "$log")"
