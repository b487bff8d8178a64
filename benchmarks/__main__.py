"""qcflow's benchmarks: one line per case, each figure against a baseline measured in the same run.

    .venv/bin/python -m benchmarks [--quick] [--only NAME[,NAME]] [--pg URL] [--verbose]

Each case runs in its own child process on data it generates in temp dirs (PostgreSQL: a temporary
schema, dropped afterwards); all traffic stays on 127.0.0.1. A line reads

    name   figure | baseline figure, ratio [target …: PASS|MISS|n/a] | …  (how)

Cases that run rounds (ours and the baseline alternating) report medians, and each ratio is the
median of the rounds' ratios: the two figures of a round saw the same machine. `--quick` (CI) uses
small sizes and a few seconds per case; targets that only mean something at the full size say n/a.
Exit status: 1 if a case crashed (its line says ERROR and why), else 0 — figures never fail the
run, so noise cannot break CI.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

from benchmarks.support import ROOT, Options, Result, clean_environment

# name → module; the order they run in.
CASES = {
    "transitions/sqlite": "benchmarks.case_transitions_sqlite",
    "transitions/postgresql": "benchmarks.case_transitions_pg",
    "statements": "benchmarks.case_statements",
    "sweep": "benchmarks.case_sweep",
    "deaths-import": "benchmarks.case_deaths_import",
    "indicator-import": "benchmarks.case_indicator_import",
    "mail": "benchmarks.case_mail",
    "link-page": "benchmarks.case_link_page",
    "cli-start": "benchmarks.case_cli_start",
    "annual-report": "benchmarks.case_annual_report",  # H6 (issue 13)
}
TIMEOUT_S = {True: 240, False: 1200}  # per case: quick, full


def select(only: str) -> list[str]:
    if not only:
        return list(CASES)
    chosen = []
    for want in (w.strip() for w in only.split(",") if w.strip()):
        hits = [n for n in CASES if n == want or n.startswith(want)]
        if not hits:
            raise SystemExit(f"no case named {want!r}; cases: {', '.join(CASES)}")
        chosen += [h for h in hits if h not in chosen]
    return chosen


def run_child(name: str, opts: Options, result_file: str) -> None:
    """In the child: run one case, write its Result as JSON."""
    module = importlib.import_module(CASES[name])
    try:
        result = module.run(opts)
    except BaseException as exc:  # noqa: BLE001 — reported on the case's line
        tb = traceback.extract_tb(exc.__traceback__)
        where = next((f"{Path(f.filename).relative_to(ROOT)}:{f.lineno}" for f in reversed(tb)
                      if f.filename.startswith(str(ROOT)) and "/.venv/" not in f.filename), "")
        traceback.print_exc()
        error = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        result = Result(name, error=error + (f" (at {where})" if where else ""))
    Path(result_file).write_text(json.dumps(result.to_dict(), ensure_ascii=False), encoding="utf-8")


def run_case(name: str, opts: Options) -> Result:
    with tempfile.TemporaryDirectory(prefix="qcflow-bench-run-") as tmp:
        result_file = str(Path(tmp) / "result.json")
        cmd = [sys.executable, "-m", "benchmarks", "--child", name, "--result-file", result_file]
        cmd += ["--quick"] * opts.quick + ["--verbose"] * opts.verbose + (["--pg", opts.pg_url] if opts.pg_url else [])
        # Its own process group, so that a case that hangs goes with everything it started.
        child = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 start_new_session=True)
        try:
            out, err = child.communicate(timeout=TIMEOUT_S[opts.quick])
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.communicate()
            return Result(name, error=f"did not finish within {TIMEOUT_S[opts.quick]} s")
        except KeyboardInterrupt:
            os.killpg(child.pid, signal.SIGKILL)
            raise
        if Path(result_file).exists():
            result = Result.from_dict(json.loads(Path(result_file).read_text(encoding="utf-8")))
            if result.error and opts.verbose:
                result.details += (err or "").strip().splitlines()[-15:]
            return result
        last = ((err or out).strip().splitlines() or ["no output"])[-1]
        return Result(name, error=f"child exited {child.returncode}: {last[:300]}")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a few seconds per case (CI)")
    parser.add_argument("--only", default="", help=f"comma-separated case names or prefixes: {', '.join(CASES)}")
    parser.add_argument("--pg", default=os.environ.get("QCFLOW_BENCH_DATABASE_URL", ""),
                        help="PostgreSQL URL for transitions/postgresql (default $QCFLOW_BENCH_DATABASE_URL), "
                             "e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--verbose", action="store_true", help="print each case's details under its line")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--result-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    clean_environment()
    opts = Options(quick=args.quick, pg_url=args.pg, verbose=args.verbose)
    if args.child:
        run_child(args.child, opts, args.result_file)
        return 0

    names = select(args.only)
    began = time.perf_counter()
    print(f"# qcflow benchmarks, {'quick' if opts.quick else 'full'} mode — Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs; "
          f"each figure against a baseline measured in the same run", flush=True)
    crashed = 0
    for name in names:
        t0 = time.perf_counter()
        result = run_case(name, opts)
        crashed += bool(result.error)
        print(f"{result.line()}  [{time.perf_counter() - t0:.0f} s]", flush=True)
        if opts.verbose:
            for line in result.details:
                print(f"    {line}", flush=True)
    print(f"# {len(names)} cases in {time.perf_counter() - began:.0f} s"
          + (f"; {crashed} crashed" if crashed else ""), flush=True)
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
