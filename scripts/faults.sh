#!/usr/bin/env bash
# The fault-injection tests at full size (tests/faults with QCFLOW_FAULTS_SCALE=full, and the fuzz tests of
# tests/fuzz with thousands of examples), then the figures the tests computed.
# PostgreSQL: export QCFLOW_TEST_DATABASE_URL=postgresql+psycopg://user@host:5432/db (its schema is replaced).
set -uo pipefail
cd "$(dirname "$0")/.."
export PREFECT_SERVER_ANALYTICS_ENABLED=false QCFLOW_FAULTS_SCALE=full
export QCFLOW_FUZZ_EXAMPLES="${QCFLOW_FUZZ_EXAMPLES:-3000}"
figures="$(mktemp)"; stats="$(mktemp)"
trap 'rm -f "$figures" "$stats"' EXIT
export QCFLOW_FAULTS_FIGURES="$figures"
started=$(date +%s)
.venv/bin/python -m pytest -q -p no:cacheprovider tests/faults tests/fuzz --hypothesis-show-statistics "$@" | tee "$stats"
status=${PIPESTATUS[0]}
.venv/bin/python - "$figures" "$stats" "$(( $(date +%s) - started ))" <<'PY'
import json, re, sys
rows = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8") if line.strip()]
def total(key, tests=None):
    return sum(r.get(key, 0) for r in rows if tests is None or r["test"] in tests)
generated = sum(int(n) for n in re.findall(r"(\d+) passing\b", open(sys.argv[2], encoding="utf-8").read()))
print(f"\nfault run ({sys.argv[3]} s):")
print(f"  concurrent actions: {total('concurrent_actions')}")
print(f"  kills: {total('kills')} (deliverer {total('kills', {'deliverer_kills'})}, web {total('kills', {'web_kills'})})")
print(f"  outage minutes: {total('outage_minutes')}")
print(f"  hostile tokens: {total('hostile_tokens')} ({total('requests')} scanner requests)")
print(f"  generated inputs: {generated}")
print(f"  lost {total('lost')}, duplicated {total('duplicated')}, shown to the wrong person {total('shown_to_wrong_person')}")
if total("duplicated"):
    print(f"  (duplicated: mails the server had taken when a deliverer was killed before writing them down: "
          f"{total('duplicated_inside_record_window')} of {total('duplicated')})")
print(f"  figures from {len(rows)} tests: {', '.join(r['test'] for r in rows)}")
PY
exit "$status"
