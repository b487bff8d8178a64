"""cli-start: wall time of `python -m qcflow case show document 1`, against `python -c pass`.

A fresh SQLite file (migrated, demo directory, one submitted document) in a temp data dir; the
command runs as a new process with only QCFLOW_DATA_DIR, QCFLOW_DATABASE_URL and QCFLOW_SECRET_KEY
set, from the repository root, as a person would run it. Both commands alternate, 10 times each
(--quick: 3) after one untimed run of each (disk cache); medians. Target (issue): ≤ 1.0 s.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.support import (
    ROOT, SECRETARY, Check, Options, Result, create_document, fire, median, prepare_database, seconds, sqlite_url,
)

NAME = "cli-start"
TITLE = "命令行基准测试公文"


def timed(cmd: list[str], env: dict) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    return time.perf_counter() - t0, done


def run(opts: Options) -> Result:
    repeats = 3 if opts.quick else 10
    result = Result(NAME)
    with tempfile.TemporaryDirectory(prefix="qcflow-bench-cli-") as tmp:
        url = sqlite_url(Path(tmp) / "data", "qcflow.db")
        engine = prepare_database(url, Path(tmp) / "data")
        case_id = create_document(engine, TITLE)
        fire(engine, case_id, "submit", SECRETARY)
        engine.dispose()
        env = {k: v for k, v in os.environ.items() if not k.startswith("QCFLOW_")}
        # a secret of 32 bytes or more: the command starts as in production
        env.update(QCFLOW_DATA_DIR=str(Path(tmp) / "data"), QCFLOW_DATABASE_URL=url, QCFLOW_SECRET_KEY="bench-" * 8)
        ours_cmd = [sys.executable, "-m", "qcflow", "case", "show", "document", str(case_id)]
        bare_cmd = [sys.executable, "-c", "pass"]
        ours, bare = [], []
        for k in range(repeats + 1):
            spent, done = timed(ours_cmd, env)
            if done.returncode != 0 or TITLE not in done.stdout:
                raise RuntimeError(f"`qcflow case show document {case_id}` exited {done.returncode}: "
                                   f"{(done.stderr or done.stdout).strip().splitlines()[-1:]}")
            bare_spent, _ = timed(bare_cmd, env)
            if k:  # the first of each is a warm-up
                ours.append(spent)
                bare.append(bare_spent)
    o, b = median(ours), median(bare)
    result.figure = seconds(o)
    result.checks.append(Check(f"python -c pass {seconds(b)}, ours/bare {o / b:.1f}× (+{seconds(o - b)})",
                               "≤ 1.0 s", o <= 1.0))
    result.note = f"median of {repeats}, alternating"
    result.details.append(f"case show runs: {', '.join(seconds(x) for x in ours)}")
    return result
