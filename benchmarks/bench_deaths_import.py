"""Benchmark the bulk import of death cases (qcflow.services.deaths_import.import_file).

    .venv/bin/python benchmarks/bench_deaths_import.py [--rows 100000] [--batch-size 1000] [--xlsx]

Generates N distinct valid rows (benchmarks/make_deaths.py: fictional patients, Chinese headers,
~15% of them in the 2026 low-risk DRG tier) as a UTF-8 CSV in a temp dir (and, with --xlsx, the
same rows as an .xlsx file), then, on a fresh temporary SQLite file (and, when
QCFLOW_BENCH_DATABASE_URL is set, in a temporary PostgreSQL schema that is dropped afterwards):
migrations, the demo directory and the demo low-risk list, then

  (a) the import into hospital QCH1: every row a new case (one row + two events each);
  (b) the same file again: every row already imported (all duplicates, nothing written);
  (c) the same file for hospital QCH2 (all new cases again) with tracemalloc on: the peak of
      Python allocations during the import. Tracing slows it down; its time is not comparable.
  (d) with --xlsx: the .xlsx file into hospital LXH (all new).

It prints seconds, rows/s, the process's peak RSS (getrusage: a high-water mark over the whole
process, including what came before) and the traced peak. Writes nothing outside temp dirs.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
from pathlib import Path

from bench_support import ROOT, peak_rss_mb, point_settings_at, temporary_pg_schema, use_temp_data_dir  # noqa: F401

# Settings are read once from the environment: point them at a temp dir before qcflow is imported.
_TMP = use_temp_data_dir("qcflow-bench-deaths-")

import logging  # noqa: E402

from sqlalchemy import func  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from benchmarks.make_deaths import HEADERS, synthetic_rows, write_csv  # noqa: E402
from models import Case, CaseEvent  # noqa: E402
from qcflow.services import directory  # noqa: E402
from qcflow.store.db import make_engine, unit_of_work, upgrade_schema  # noqa: E402
from qcflow.services.deaths_import import ImportReport, import_file, load_low_risk_groups  # noqa: E402

ACTOR = "secretary@card.qingchuan.example"
DRG_2026 = ROOT / "demo" / "deaths" / "low_risk_drg_2026.csv"




def write_xlsx(path: Path, rows: int) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(HEADERS)
    for row in synthetic_rows(rows):
        sheet.append([row[h] for h in HEADERS])
    book.save(path)


def timed_import(engine, path: Path, hospital: str, batch_size: int, trace: bool
                 ) -> tuple[ImportReport, float, float, int]:
    calls = []
    if trace:
        tracemalloc.start()
    t0 = time.perf_counter()
    report = import_file(engine, path, hospital, ACTOR, batch_size=batch_size, progress=calls.append)
    seconds = time.perf_counter() - t0
    traced = 0.0
    if trace:
        traced = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return report, seconds, traced, len(calls)


def line(label: str, report: ImportReport, seconds: float, traced: float, calls: int) -> None:
    traced_text = f"  traced peak {traced:6.1f} MB" if traced else ""
    print(f"  {label:<44} {report.read:>8,} read  {report.created:>8,} created  {report.duplicates:>8,} dup  "
          f"{report.low_risk:>6,} low-risk  {seconds:7.2f} s  {report.read / seconds:>8,.0f} rows/s  "
          f"{calls:>4} progress calls  peak RSS {peak_rss_mb():6.1f} MB{traced_text}")


def bench(label: str, url: str, csv_path: Path, xlsx_path: Path | None, rows: int, batch_size: int) -> dict:
    print(f"\n== {label} ==")
    point_settings_at(url)
    t0 = time.perf_counter()
    upgrade_schema(url)
    engine = make_engine(url)
    with unit_of_work(engine) as s:
        directory.load_file(s, ROOT / "demo" / "directory.yaml")
        load_low_risk_groups(s, DRG_2026, 2026)
    print(f"  setup (migrate + directory + DRG list): {time.perf_counter() - t0:.2f} s; "
          f"peak RSS so far {peak_rss_mb():.1f} MB")

    result = {"label": label}
    first, result["import"], _, calls = timed_import(engine, csv_path, "QCH1", batch_size, trace=False)
    assert (first.created, first.refused, first.duplicates) == (rows, 0, 0), first.lines()[0]
    line("(a) CSV import, all new (QCH1)", first, result["import"], 0.0, calls)
    result["rss"] = peak_rss_mb()

    again, result["reimport"], _, calls = timed_import(engine, csv_path, "QCH1", batch_size, trace=False)
    assert (again.created, again.already_imported) == (0, rows), again.lines()[0]
    line("(b) the same file again, all duplicates", again, result["reimport"], 0.0, calls)

    traced, seconds, result["traced"], calls = timed_import(engine, csv_path, "QCH2", batch_size, trace=True)
    assert traced.created == rows, traced.lines()[0]
    line("(c) CSV import, all new (QCH2), tracemalloc", traced, seconds, result["traced"], calls)

    if xlsx_path:
        book, result["xlsx"], _, calls = timed_import(engine, xlsx_path, "LXH", batch_size, trace=False)
        assert book.created == rows, book.lines()[0]
        line("(d) XLSX import, all new (LXH)", book, result["xlsx"], 0.0, calls)

    with Session(engine) as s:
        cases = s.exec(select(func.count()).select_from(Case)).one()
        events = s.exec(select(func.count()).select_from(CaseEvent)).one()
    print(f"  in the database: {cases:,} cases, {events:,} case events")
    engine.dispose()
    return result



def bench_postgres(base_url: str, *args) -> dict:
    with temporary_pg_schema(base_url) as (url, schema):
        return bench(f"PostgreSQL (temporary schema {schema})", url, *args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows in the generated file (default 100000)")
    parser.add_argument("--batch-size", type=int, default=1000, help="rows per committed batch (default 1000)")
    parser.add_argument("--xlsx", action="store_true", help="also import the rows from an .xlsx file")
    args = parser.parse_args()
    logging.getLogger("alembic").setLevel(logging.WARNING)

    began = time.perf_counter()
    print(f"qcflow death-case import benchmark — Python {sys.version.split()[0]}, one process, {args.rows:,} rows, "
          f"batch {args.batch_size}")
    csv_path = Path(_TMP.name) / "deaths.csv"
    t0 = time.perf_counter()
    write_csv(csv_path, synthetic_rows(args.rows))
    print(f"generated {csv_path.name}: {csv_path.stat().st_size / 2**20:.1f} MB in {time.perf_counter() - t0:.1f} s; "
          f"peak RSS {peak_rss_mb():.1f} MB")
    xlsx_path = None
    if args.xlsx:
        xlsx_path = Path(_TMP.name) / "deaths.xlsx"
        t0 = time.perf_counter()
        write_xlsx(xlsx_path, args.rows)
        print(f"generated {xlsx_path.name}: {xlsx_path.stat().st_size / 2**20:.1f} MB in "
              f"{time.perf_counter() - t0:.1f} s; peak RSS {peak_rss_mb():.1f} MB")

    sqlite_path = Path(_TMP.name) / "bench.db"
    summary = [bench(f"SQLite (WAL, synchronous=NORMAL, {sqlite_path})", f"sqlite:///{sqlite_path}", csv_path,
                     xlsx_path, args.rows, args.batch_size)]
    pg_url = os.environ.get("QCFLOW_BENCH_DATABASE_URL", "")
    if pg_url:
        summary.append(bench_postgres(pg_url, csv_path, xlsx_path, args.rows, args.batch_size))
    else:
        print("\n(PostgreSQL skipped: set QCFLOW_BENCH_DATABASE_URL, e.g. "
              "postgresql+psycopg://postgres@127.0.0.1:5432/postgres)")
    print(f"\nsummary ({args.rows:,} rows):")
    for s in summary:
        xlsx = f"  xlsx import {s['xlsx']:6.2f} s" if "xlsx" in s else ""
        print(f"  {s['label'][:40]:<40}  import {s['import']:6.2f} s ({args.rows / s['import']:,.0f} rows/s)  "
              f"re-import {s['reimport']:6.2f} s  peak RSS after import {s['rss']:.0f} MB  "
              f"traced peak {s['traced']:.1f} MB{xlsx}")
    print(f"\ntotal {time.perf_counter() - began:.1f} s")
    _TMP.cleanup()


if __name__ == "__main__":
    main()
