#!/usr/bin/env bash
# Set up, walk the demo story once, then serve qcflow on the embedded defaults:
# SQLite in var/, a local mail sink shown at /mailbox, an embedded Prefect server with the schedules.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PREFECT_SERVER_ANALYTICS_ENABLED=false
.venv/bin/qcflow demo
exec .venv/bin/qcflow serve --demo
