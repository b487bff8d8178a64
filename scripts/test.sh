#!/usr/bin/env bash
# Set up and run the test suite (SQLite; set QCFLOW_TEST_DATABASE_URL to also use PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PREFECT_SERVER_ANALYTICS_ENABLED=false
echo "+ .venv/bin/python -m pytest $*"
exec .venv/bin/python -m pytest "$@"
