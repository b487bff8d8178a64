"""Benchmark the deadline sweep (qcflow.engine.deadlines.sweep) over many open deadlines.

    .venv/bin/python benchmarks/bench_sweep.py [--rows 100000] [--due-share 0.01] [--tracemalloc]

Builds a fresh temporary SQLite file (and, when QCFLOW_BENCH_DATABASE_URL is set, a temporary
PostgreSQL schema that is dropped afterwards): migrations, the demo directory, then N documents in
state `submitted` (Workflow 1), each with one open review deadline, bulk-inserted. The rows are
spread so that, seen from Monday 2026-11-16 ("D1"):

  * `--due-share` of them (default 1%) are due Tue 11-17: their remind-1 rung is reached on D1;
  * all the others are due Thu 11-19 .. Mon 12-14: inside the sweep's look-ahead window (so every
    row is loaded and its ladder walked), yet no rung is reached.

Then it times, each as one committed unit of work, as the sweep flow runs it:

  (a) a sweep as of Fri 11-13 ("D0"): nothing is due — every row examined, nothing sent;
  (b) a sweep as of D1: the due share gets its reminder (emails queued in the outbox, with task
      links, and one dispatch-ledger row each);
  (c) the same sweep again right after: the ledger says everything was sent, nothing is queued;
  (d) every deadline moved months ahead, past the look-ahead window: the sweep as an index scan.

It prints rows, seconds, rows/s and memory: the process's peak RSS (getrusage) and, with
--tracemalloc, the peak of Python allocations during each sweep (tracing slows the sweep down,
so times printed in that mode are not comparable). Writes nothing outside temp dirs.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
from datetime import date, datetime, time as dtime, timedelta
from pathlib import Path

from bench_support import ROOT, peak_rss_mb, point_settings_at, temporary_pg_schema, use_temp_data_dir  # noqa: F401

# Settings are read once from the environment: point them at a temp dir before qcflow is imported.
_TMP = use_temp_data_dir("qcflow-bench-sweep-")

import logging  # noqa: E402

import yaml  # noqa: E402
from sqlalchemy import Engine, func, insert, text, update  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from models import Case, Center, Deadline, Dispatch, OutboxMessage, Person, TaskLink  # noqa: E402
from qcflow.engine import deadlines
from qcflow.services import directory  # noqa: E402
from qcflow.core.clock import end_of_local_day, local_zone  # noqa: E402
from qcflow.store.db import make_engine, unit_of_work, upgrade_schema  # noqa: E402

SECRETARY = "secretary@card.qingchuan.example"
NOTICE = yaml.safe_load((ROOT / "demo" / "meeting_notice.yaml").read_text(encoding="utf-8"))
D0 = date(2026, 11, 13)  # Friday: nothing due
D1 = date(2026, 11, 16)  # Monday: remind-1 for deadlines due Tue 11-17
DUE_SOON = date(2026, 11, 17)
REST_FIRST, REST_LAST = date(2026, 11, 19), date(2026, 12, 14)
INSERT_CHUNK = 10_000



def at(day: date) -> datetime:
    return datetime.combine(day, dtime(9), tzinfo=local_zone())



def populate(engine: Engine, rows: int, due_share: float) -> int:
    """N submitted documents, one open review deadline each. Returns how many are due soon."""
    due_soon = max(1, round(rows * due_share)) if due_share > 0 else 0
    spread = (REST_LAST - REST_FIRST).days + 1
    opened = at(D0 - timedelta(days=10))
    with Session(engine) as s:
        center_id = s.exec(select(Center.id).where(Center.code == "CARD")).one()
        person_id = s.exec(select(Person.id).where(Person.email == SECRETARY)).one()
        first_id = (s.exec(select(func.max(Case.id))).one() or 0) + 1
        for start in range(0, rows, INSERT_CHUNK):
            ids = range(first_id + start, first_id + min(rows, start + INSERT_CHUNK))
            s.execute(insert(Case), [
                {"id": i, "kind": "document", "state": "submitted", "version": 2,
                 "title": f"基准测试公文 {i}", "center_id": center_id, "created_by_id": person_id,
                 "key": None, "data": {**NOTICE, "title": f"基准测试公文 {i}"},
                 "created_at": opened, "updated_at": opened}
                for i in ids
            ])
            s.execute(insert(Deadline), [
                {"case_id": i, "step": "review", "opened_at": opened,
                 "due_at": end_of_local_day(DUE_SOON if (i - first_id) < due_soon
                                            else REST_FIRST + timedelta(days=(i - first_id) % spread)),
                 "closed_at": None, "reminded_at": None, "escalated_at": None}
                for i in ids
            ])
        if engine.dialect.name == "postgresql":  # explicit ids: move the sequence past them
            s.execute(text("SELECT setval(pg_get_serial_sequence('qc_case', 'id'), (SELECT max(id) FROM qc_case))"))
        s.commit()
    return due_soon


def counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as s:
        return {name: s.exec(select(func.count()).select_from(model)).one()
                for name, model in (("outbox", OutboxMessage), ("links", TaskLink), ("ledger", Dispatch),
                                    ("open_deadlines", Deadline))}


def timed_sweep(engine: Engine, day: date, trace: bool) -> tuple[deadlines.SweepReport, float, float]:
    if trace:
        tracemalloc.start()
    t0 = time.perf_counter()
    with unit_of_work(engine) as s:
        report = deadlines.sweep(s, now=at(day))
    seconds = time.perf_counter() - t0
    traced = 0.0
    if trace:
        traced = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return report, seconds, traced


def line(label: str, rows: int, report: deadlines.SweepReport, seconds: float, traced: float, queued: int,
         trace: bool) -> None:
    rate = f"{report.examined / seconds:>9,.0f} rows/s" if report.examined else f"{'—':>9} rows/s"
    mem = f"process peak RSS {peak_rss_mb():7.1f} MB" + (f", traced peak {traced:7.1f} MB" if trace else "")
    print(f"  {label:<46} {rows:>8,} open  {report.examined:>8,} examined  {seconds:8.2f} s  {rate}  "
          f"reminded {len(report.reminded):>5,}  escalated {len(report.escalated):>3,}  emails queued {queued:>6,}  {mem}")


def bench(label: str, url: str, rows: int, due_share: float, trace: bool) -> dict:
    print(f"\n== {label} ==")
    point_settings_at(url)
    t0 = time.perf_counter()
    upgrade_schema(url)
    engine = make_engine(url)
    with unit_of_work(engine) as s:
        directory.load_file(s, ROOT / "demo" / "directory.yaml")
    setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    due_soon = populate(engine, rows, due_share)
    filled = time.perf_counter() - t0
    print(f"  setup (migrate + directory): {setup:.2f} s; bulk insert of {rows:,} cases + {rows:,} deadlines: "
          f"{filled:.2f} s ({2 * rows / filled:,.0f} rows/s); {due_soon:,} due {DUE_SOON} (remind-1 on {D1}); "
          f"peak RSS so far {peak_rss_mb():.1f} MB")

    results = {}
    open_rows = counts(engine)["open_deadlines"]
    for key, name, day, expect_reminded in (
        ("a", f"(a) as of {D0}: nothing due", D0, 0),
        ("b", f"(b) as of {D1}: {due_share:.0%} due for a reminder", D1, due_soon),
        ("c", f"(c) as of {D1} again: nothing new to send", D1, 0),
    ):
        before = counts(engine)["outbox"]
        report, seconds, traced = timed_sweep(engine, day, trace)
        queued = counts(engine)["outbox"] - before
        assert len(report.reminded) == expect_reminded, (name, len(report.reminded), expect_reminded)
        assert report.escalated == [] and report.examined == open_rows, (name, report.examined)
        if expect_reminded == 0:
            assert queued == 0, (name, queued)
        line(name, open_rows, report, seconds, traced, queued, trace)
        results[key] = (seconds, queued)
    after = counts(engine)
    print(f"  after (b): {after['outbox']:,} emails queued, {after['links']:,} task links, "
          f"{after['ledger']:,} dispatch-ledger rows ({results['b'][1] / max(1, due_soon):.0f} emails per reminder: "
          f"the commission's reviewers)")

    with unit_of_work(engine) as s:  # everything months ahead: outside the look-ahead window
        # (per distinct value: date arithmetic in SQL differs between SQLite's text and PostgreSQL)
        for due_at in s.exec(select(Deadline.due_at).distinct()).all():
            s.execute(update(Deadline).where(Deadline.due_at == due_at).values(due_at=due_at + timedelta(days=200)))
    report, seconds, traced = timed_sweep(engine, D1, trace)
    assert report.examined == 0 and report.reminded == []
    line(f"(d) as of {D1}: all due months ahead", open_rows, report, seconds, traced, 0, trace)
    engine.dispose()
    return {"label": label, "a": results["a"][0], "b": results["b"][0], "c": results["c"][0], "d": seconds}



def bench_postgres(base_url: str, rows: int, due_share: float, trace: bool) -> dict:
    with temporary_pg_schema(base_url) as (url, schema):
        return bench(f"PostgreSQL (temporary schema {schema})", url, rows,
                     due_share, trace)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="open deadlines (default 100000)")
    parser.add_argument("--due-share", type=float, default=0.01, help="share due for a reminder in (b) (default 0.01)")
    parser.add_argument("--tracemalloc", action="store_true", help="also trace Python allocations (slower)")
    args = parser.parse_args()
    logging.getLogger("alembic").setLevel(logging.WARNING)

    began = time.perf_counter()
    print(f"qcflow sweep benchmark — Python {sys.version.split()[0]}, one process, {args.rows:,} open deadlines, "
          f"sweep batch {deadlines.SWEEP_BATCH}")
    sqlite_path = Path(_TMP.name) / "bench.db"
    summary = [bench(f"SQLite (WAL, synchronous=NORMAL, {sqlite_path})", f"sqlite:///{sqlite_path}",
                     args.rows, args.due_share, args.tracemalloc)]
    pg_url = os.environ.get("QCFLOW_BENCH_DATABASE_URL", "")
    if pg_url:
        summary.append(bench_postgres(pg_url, args.rows, args.due_share, args.tracemalloc))
    else:
        print("\n(PostgreSQL skipped: set QCFLOW_BENCH_DATABASE_URL, e.g. "
              "postgresql+psycopg://postgres@127.0.0.1:5432/postgres)")
    print("\nsummary (seconds per sweep):")
    for s in summary:
        print(f"  {s['label'][:40]:<40}  nothing due {s['a']:6.2f}  1% due {s['b']:6.2f}  "
              f"rerun {s['c']:6.2f}  none in window {s['d']:6.3f}")
    print(f"\ntotal {time.perf_counter() - began:.1f} s")
    _TMP.cleanup()


if __name__ == "__main__":
    main()
