"""Benchmark the engine: full document lifecycles through fire(), one transaction per step.

    .venv/bin/python benchmarks/bench_engine.py [--seconds 10] [--max-lifecycles 300]

Each lifecycle is what a real document goes through (Workflow 1): create (secretary), submit,
approve (reviewer), sign (signing leader) → the system's automatic issue with a document number.
Every step is its own unit of work (BEGIN … COMMIT), with history, deadlines, task links and outbox
mails written as in production. Runs on a fresh temporary SQLite file; also on PostgreSQL when
QCFLOW_BENCH_DATABASE_URL is set (in a temporary schema that is dropped afterwards, so the database's
own tables are left alone). Single process; prints figures, writes nothing outside temp dirs.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from bench_support import ROOT, point_settings_at, temporary_pg_schema, use_temp_data_dir  # noqa: F401

# Settings are read once from the environment: point them at a temp dir before qcflow is imported.
_TMP = use_temp_data_dir("qcflow-bench-")

import yaml  # noqa: E402
from sqlalchemy import Engine  # noqa: E402
from sqlmodel import select  # noqa: E402

from models import DocumentNumber  # noqa: E402
from qcflow.services import directory
from qcflow import engine as qc  # noqa: E402
from qcflow.store.db import make_engine, unit_of_work, upgrade_schema  # noqa: E402

SECRETARY = "secretary@card.qingchuan.example"
REVIEWERS = ("reviewer@wjw.qingchuan.example", "reviewer2@wjw.qingchuan.example")
LEADERS = ("leader@wjw.qingchuan.example", "leader2@wjw.qingchuan.example")
STEPS = ("create", "submit", "approve", "sign+issue")
TRANSITIONS_PER_LIFECYCLE = 4  # submit, approve, sign, issue (create is an insert, not a transition)
FIRE_CALLS_PER_LIFECYCLE = 3  # submit, approve, sign (issue runs inside sign's fire())
NOTICE = yaml.safe_load((ROOT / "demo" / "meeting_notice.yaml").read_text(encoding="utf-8"))



def lifecycle(engine: Engine, i: int) -> list[float]:
    """One document from draft to issued; returns the seconds each step took (commit included)."""
    reviewer, leader = REVIEWERS[i % 2], LEADERS[i % 2]
    times = []
    t0 = time.perf_counter()
    with unit_of_work(engine) as s:
        case_id = qc.create_case(s, "document", SECRETARY, {**NOTICE, "title": f"基准测试公文 {i}"}).id
    t1 = time.perf_counter()
    times.append(t1 - t0)
    for trigger, email in (("submit", SECRETARY), ("approve", reviewer), ("sign", leader)):
        t0 = time.perf_counter()
        with unit_of_work(engine) as s:
            qc.fire(s, "document", case_id, trigger, email=email)
        t1 = time.perf_counter()
        times.append(t1 - t0)
    return times


def bench(label: str, url: str, seconds: float, max_lifecycles: int, warmup: int = 5) -> dict:
    point_settings_at(url)
    t0 = time.perf_counter()
    upgrade_schema(url)
    engine = make_engine(url)
    with unit_of_work(engine) as s:
        directory.load_file(s, ROOT / "demo" / "directory.yaml")
    setup = time.perf_counter() - t0

    for i in range(warmup):
        lifecycle(engine, i)
    runs: list[list[float]] = []
    started = time.perf_counter()
    while len(runs) < max_lifecycles and time.perf_counter() - started < seconds:
        runs.append(lifecycle(engine, warmup + len(runs)))
    wall = time.perf_counter() - started

    with unit_of_work(engine) as s:
        seqs = sorted(n.seq for n in s.exec(select(DocumentNumber)).all())
    assert seqs == list(range(1, warmup + len(runs) + 1)), "document numbers are not gap-free"
    engine.dispose()

    n = len(runs)
    per_life = [sum(r) for r in runs]
    fire_time = sum(sum(r[1:]) for r in runs)
    per_step = {step: [r[k] for r in runs] for k, step in enumerate(STEPS)}
    ms = lambda xs: 1000 * statistics.fmean(xs)  # noqa: E731
    p = lambda xs, q: 1000 * statistics.quantiles(xs, n=100)[q - 1] if len(xs) >= 2 else 1000 * xs[0]  # noqa: E731

    print(f"\n== {label} ==")
    print(f"  setup (migrate + load directory): {setup:.2f} s")
    print(f"  lifecycles measured:              {n} in {wall:.2f} s (after {warmup} warm-up)")
    print(f"  full lifecycle (4 transactions):  {ms(per_life):.2f} ms mean, "
          f"p50 {p(per_life, 50):.2f} ms, p95 {p(per_life, 95):.2f} ms  → {n / wall:.1f} documents/s")
    print(f"  state transitions per second:     {n * TRANSITIONS_PER_LIFECYCLE / fire_time:.0f}/s "
          f"(submit, approve, sign, issue; time inside fire() transactions only)")
    print(f"  fire() calls per second:          {n * FIRE_CALLS_PER_LIFECYCLE / fire_time:.0f}/s "
          f"(one committed transaction each)")
    print(f"  overall, create included:         {n * len(STEPS) / wall:.0f} committed steps/s")
    tenth = max(1, n // 10)
    print(f"  drift as tables grow:             first {tenth}: {ms(per_life[:tenth]):.2f} ms, "
          f"last {tenth}: {ms(per_life[-tenth:]):.2f} ms per lifecycle")
    print("  per step, mean / p95 (ms):")
    for step in STEPS:
        xs = per_step[step]
        print(f"    {step:<11} {ms(xs):7.2f} / {p(xs, 95):7.2f}")
    return {"label": label, "lifecycles": n, "ms_per_lifecycle": ms(per_life),
            "transitions_per_s": n * TRANSITIONS_PER_LIFECYCLE / fire_time}



def bench_postgres(base_url: str, seconds: float, max_lifecycles: int) -> None:
    with temporary_pg_schema(base_url) as (url, schema):
        bench(f"PostgreSQL (schema {schema})", url, seconds, max_lifecycles)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measuring time per database (default 10)")
    parser.add_argument("--max-lifecycles", type=int, default=300, help="stop earlier after this many (default 300)")
    args = parser.parse_args()

    began = time.perf_counter()
    print(f"qcflow engine benchmark — Python {sys.version.split()[0]}, one process, "
          f"one transaction per step, up to {args.seconds:g} s or {args.max_lifecycles} lifecycles per database")
    sqlite_path = Path(_TMP.name) / "bench.db"
    bench(f"SQLite (WAL, synchronous=NORMAL, {sqlite_path})", f"sqlite:///{sqlite_path}",
          args.seconds, args.max_lifecycles)
    pg_url = os.environ.get("QCFLOW_BENCH_DATABASE_URL", "")
    if pg_url:
        bench_postgres(pg_url, args.seconds, args.max_lifecycles)
    else:
        print("\n(PostgreSQL skipped: set QCFLOW_BENCH_DATABASE_URL, e.g. "
              "postgresql+psycopg://postgres@127.0.0.1:5432/test)")
    print(f"\ntotal {time.perf_counter() - began:.1f} s")
    _TMP.cleanup()


if __name__ == "__main__":
    main()
