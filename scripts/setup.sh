#!/usr/bin/env bash
# Create .venv and install qcflow with its test tools. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "创建虚拟环境 .venv ……"
  "$PY" -m venv .venv
fi
stamp=.venv/.qcflow-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "安装 qcflow 及其依赖（首次约需 2–3 分钟）……"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]" 2>&1 \
    | grep -v "is ignored: it is neither a file nor a directory" || true
  .venv/bin/python -c "import qcflow.cli, prefect, aiosmtpd" # fail here, not later, if the install broke
  touch "$stamp"
fi
bash scripts/browser-deps.sh  # chromium, Chinese fonts (pages, PDF report), pdftotext
