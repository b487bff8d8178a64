"""Peer figures for the engine benchmark: SpiffWorkflow 3.2 running the same document approval, and bare sqlite3.

    .venv/bin/python benchmarks/peer_spiff.py [--seconds 10] [--max-lifecycles 300]

Measured: document lifecycles (draft → submit → approve → sign → issue with a number) in SpiffWorkflow,
persisted to SQLite after every step, one transaction each (WAL, synchronous=NORMAL), as steps/s
(4 transitions per lifecycle, as benchmarks/case_transitions_sqlite.py counts ours); see
peer_spiff_worker.py for the variants. Baseline: bare sqlite3 insert+commit of one small row per transaction, same pragmas.
SpiffWorkflow lives in its own venv (default /tmp/qcflow-bench-spiff-venv, or $QCFLOW_BENCH_SPIFF_VENV),
created on first use. No qcflow import; writes nothing outside temp dirs and that venv.
"""
from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPIFF_REQUIREMENT = "SpiffWorkflow==3.2.*"
DEFAULT_VENV = Path(os.environ.get("QCFLOW_BENCH_SPIFF_VENV", "/tmp/qcflow-bench-spiff-venv"))
WORKER = Path(__file__).resolve().with_name("peer_spiff_worker.py")
VARIANTS = ("stock", "tuned", "stock_reload", "tuned_reload")


def _has_spiff(python: Path) -> bool:
    probe = "import SpiffWorkflow, sys; sys.exit(not SpiffWorkflow.__version__.startswith('3.2'))"
    try:
        return subprocess.run([str(python), "-c", probe], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def ensure_venv(path: Path = DEFAULT_VENV) -> Path | None:
    """The python of a venv at `path` with SpiffWorkflow 3.2 (created/installed if needed), or None."""
    python = path / "bin" / "python"
    if python.exists() and _has_spiff(python):
        return python
    print(f"peer: installing {SPIFF_REQUIREMENT} into {path} (once; takes a while) ...", flush=True)
    steps = [] if python.exists() else [("creating the venv", [sys.executable, "-m", "venv", str(path)])]
    steps.append(("pip install", [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                                  SPIFF_REQUIREMENT]))
    for label, cmd in steps:
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as e:
            print(f"peer: {label} failed: {e}", file=sys.stderr)
            return None
        if done.returncode != 0:
            tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-3:])
            print(f"peer: {label} failed (exit {done.returncode}):\n{tail}", file=sys.stderr)
            return None
    return python if _has_spiff(python) else None


def bare_sqlite_commits_per_s(seconds: float) -> float:
    """Baseline: one small INSERT + COMMIT per transaction into a temp SQLite file (WAL, synchronous=NORMAL)."""
    with tempfile.TemporaryDirectory(prefix="qcflow-bench-bare-") as tmp:
        db = sqlite3.connect(Path(tmp) / "bare.db", isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("CREATE TABLE event (id INTEGER PRIMARY KEY, case_id INTEGER, step TEXT, at REAL)")
        n, started = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - started) < seconds:
            for _ in range(100):  # check the clock every 100 commits
                db.execute("BEGIN")
                db.execute("INSERT INTO event (case_id, step, at) VALUES (?, ?, ?)", (n, "submit", float(n)))
                db.execute("COMMIT")
                n += 1
        db.close()
    return n / elapsed


def measure_peer(seconds: float, max_lifecycles: int = 300, venv: Path = DEFAULT_VENV,
                 variants: tuple[str, ...] = VARIANTS) -> dict | None:
    """The worker's figures ({"stock_steps_per_s": ..., "tuned_steps_per_s": ..., "steps": ..., ...}) or None."""
    python = ensure_venv(venv)
    if python is None:
        return None
    cmd = [str(python), str(WORKER), "--seconds", str(seconds), "--max-lifecycles", str(max_lifecycles),
           "--variants", ",".join(variants)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds * 3 + 120)
    except subprocess.TimeoutExpired:
        print(f"peer: worker did not finish within {seconds * 3 + 120:.0f} s", file=sys.stderr)
        return None
    if done.returncode != 0:
        print(f"peer: worker failed (exit {done.returncode}):\n{done.stderr.strip()[-2000:]}", file=sys.stderr)
        return None
    try:
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        print(f"peer: worker printed no JSON: {done.stdout[-500:]!r}", file=sys.stderr)
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="SpiffWorkflow measuring time (default 10)")
    parser.add_argument("--max-lifecycles", type=int, default=300, help="per variant (default 300)")
    args = parser.parse_args()

    peer = measure_peer(args.seconds, args.max_lifecycles)
    bare = bare_sqlite_commits_per_s(min(args.seconds, 3.0))  # right after, so both see the same machine
    if peer is None:
        print("peer unavailable (SpiffWorkflow could not be installed or run; see above)")
    else:
        print(f"SpiffWorkflow {peer['spiff_version']}, Python {peer['python']}: {peer['lifecycles']} lifecycles "
              f"per variant, interleaved, {peer['wall_s']} s; {peer['steps']} steps each")
        for name in VARIANTS:
            rate = peer[f"{name}_steps_per_s"]
            print(f"spiff {name:<13} {rate:7.0f} steps/s   ({peer[f'{name}_bytes_per_save']} bytes JSON per save, "
                  f"bare/spiff {bare / rate:5.1f}x)")
    print(f"bare sqlite3 insert+commit  {bare:7.0f}/s")


if __name__ == "__main__":
    main()
