"""deaths-import: the bulk import of 100,000 death cases from a hospital's CSV.

The file: N distinct valid rows from benchmarks/make_deaths.py (fictional patients, Chinese headers,
~15% in the 2026 low-risk DRG tier), UTF-8 CSV in a temp dir. Ours: `import_file` into a fresh
SQLite file (migrated, demo directory and the 2026 low-risk list loaded, untimed), hospital QCH1,
every row a new case, with its default batch size; it runs in a child process of its own so that
the child's peak RSS is the import's (with the interpreter and qcflow loaded). Baseline, same run:
bare sqlite3 reading the same CSV with the csv module and `executemany` of its raw rows into one
table, a commit per 1,000 rows (WAL, synchronous=NORMAL). 3 rounds (bare, ours), medians; the peak RSS
is the highest of the three children. Targets (issue): ≤ 10 s,
ours/bare ≤ 4×, peak RSS ≤ 300 MB. --quick: 10,000 rows; the 10 s and RSS targets are not judged.
"""
from __future__ import annotations

import csv
import multiprocessing
import sqlite3
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from benchmarks.make_deaths import HEADERS, synthetic_rows, write_csv
from benchmarks.support import ROOT, Check, Options, Result, current_rss_mb, median, peak_rss_mb, rate, seconds

NAME = "deaths-import"
ACTOR = "secretary@card.qingchuan.example"
DRG_2026 = ROOT / "demo" / "deaths" / "low_risk_drg_2026.csv"
BARE_BATCH = 1000
ROUNDS = 3


def import_in_child(csv_path: str, tmp: str) -> dict:
    """Runs in a fresh process: set up the database, then import the file once."""
    from benchmarks.support import prepare_database, sqlite_url
    from qcflow.services.deaths_import import import_file, load_low_risk_groups
    from qcflow.store.db import unit_of_work

    engine = prepare_database(sqlite_url(Path(tmp)), Path(tmp) / "data")
    with unit_of_work(engine) as s:
        load_low_risk_groups(s, DRG_2026, 2026)
    before = current_rss_mb()
    t0 = time.perf_counter()
    report = import_file(engine, csv_path, "QCH1", ACTOR)
    spent = time.perf_counter() - t0
    engine.dispose()
    return {"seconds": spent, "read": report.read, "created": report.created, "refused": report.refused,
            "duplicates": report.duplicates, "low_risk": report.low_risk, "rss_before": before,
            "rss_peak": peak_rss_mb()}


def bare_executemany(csv_path: Path, db_path: Path) -> float:
    db = sqlite3.connect(db_path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    columns = ", ".join(f"c{i} TEXT" for i in range(len(HEADERS)))
    db.execute(f"CREATE TABLE raw_death (id INTEGER PRIMARY KEY, {columns})")
    sql = f"INSERT INTO raw_death ({', '.join(f'c{i}' for i in range(len(HEADERS)))}) " \
          f"VALUES ({', '.join('?' * len(HEADERS))})"
    t0 = time.perf_counter()
    with csv_path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        batch = []
        for row in reader:
            batch.append(row)
            if len(batch) == BARE_BATCH:
                db.execute("BEGIN")
                db.executemany(sql, batch)
                db.execute("COMMIT")
                batch = []
        if batch:
            db.execute("BEGIN")
            db.executemany(sql, batch)
            db.execute("COMMIT")
    spent = time.perf_counter() - t0
    db.close()
    return spent


def run(opts: Options) -> Result:
    rows = 10_000 if opts.quick else 100_000
    result = Result(NAME)
    bare, ours = [], []
    with tempfile.TemporaryDirectory(prefix="qcflow-bench-deaths-") as tmp:
        csv_path = Path(tmp) / "deaths.csv"
        write_csv(csv_path, synthetic_rows(rows))
        size_mb = csv_path.stat().st_size / 2**20
        for r in range(ROUNDS):
            bare.append(bare_executemany(csv_path, Path(tmp) / f"bare{r}.db"))
            work = Path(tmp) / f"ours{r}"
            work.mkdir()
            with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
                got = pool.submit(import_in_child, str(csv_path), str(work)).result()
            if (got["created"], got["refused"], got["duplicates"]) != (rows, 0, 0):
                raise AssertionError(f"import: {got}")
            ours.append(got)
            result.details.append(f"round {r + 1}: bare {seconds(bare[-1])}, ours {seconds(got['seconds'])}; "
                                  f"the child's "
                                  f"RSS before the import {got['rss_before']:.0f} MB (interpreter, qcflow, schema), "
                                  f"peak {got['rss_peak']:.0f} MB")
    o = median([g["seconds"] for g in ours])
    over = median([g["seconds"] / b for g, b in zip(ours, bare)])
    rss = max(g["rss_peak"] for g in ours)
    result.figure = f"{rows:,} rows {seconds(o)}"
    result.checks += [
        Check(f"bare executemany {seconds(median(bare))}, ours/bare {over:.1f}×", "≤ 4×", over <= 4),
        Check(f"{rate(rows / o)} rows/s", "100k ≤ 10 s", None if opts.quick else o <= 10),
        Check(f"peak RSS {rss:.0f} MB", "≤ 300 MB", None if opts.quick else rss <= 300),
    ]
    result.note = (f"medians of {ROUNDS} alternating rounds, each import in a fresh child process and database; "
                   f"{size_mb:.1f} MB CSV, all rows new, {ours[-1]['low_risk']:,} low-risk")
    return result
