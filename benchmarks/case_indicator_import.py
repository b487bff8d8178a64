"""indicator-import: 60,000 indicator values (500 institutions × 30 indicators × 4 quarters) from a CSV.

The file: fictional institutions B001…B500 (added to the demo directory, untimed), a 30-indicator
dictionary for 2026 (loaded, untimed), one UTF-8 CSV row per institution, indicator and quarter with
Chinese headers. Ours: `import_values` into a fresh SQLite file in one transaction (encoding and CSV
checks over the whole file, every row checked against the directory and the dictionary, then one
executemany per 5,000 rows). Baseline, same run: bare sqlite3 reading the same CSV with the csv module
and one `executemany` of its raw rows into a table of the same columns (WAL, synchronous=NORMAL).
3 alternating rounds, medians of the rounds' ratios. Target (issue 13): ours/bare ≤ 4×. --quick:
50 institutions (6,000 rows), not judged.
"""
from __future__ import annotations

import csv
import sqlite3
import tempfile
import time
from pathlib import Path

from benchmarks.support import Check, Options, Result, median, prepare_database, rate, seconds, sqlite_url

NAME = "indicator-import"
ACTOR = "secretary@card.qingchuan.example"
SPECIALTY = "心血管内科"
INDICATORS = 30
QUARTERS = 4
ROUNDS = 3
HEAD = ["机构代码", "指标代码", "年份", "季度", "分子", "分母"]


def write_inputs(tmp: Path, institutions: int) -> tuple[Path, Path, Path]:
    codes = [f"B{i:03d}" for i in range(1, institutions + 1)]
    directory = tmp / "institutions.yaml"
    lines = ["commission: {name: 青川市卫生健康委员会, organ_code: 青卫质控}", "institutions:"]
    lines += [f"  - {{code: {c}, name: 基准医院{c}, level: {'三级甲等' if i % 3 == 0 else '二级甲等'}, "
              f"county: {'青川市本级' if i % 2 else '临溪县'}}}" for i, c in enumerate(codes)]
    directory.write_text("\n".join(lines) + "\n", encoding="utf-8")
    dictionary = tmp / "dictionary.yaml"
    items = [f"  - {{code: I{n:02d}, name: 指标{n:02d}, numerator: 分子{n}, denominator: 分母{n}, unit: \"%\", "
             f"direction: {'higher' if n % 2 else 'lower'}, category: process}}" for n in range(1, INDICATORS + 1)]
    dictionary.write_text(f"specialty: {SPECIALTY}\nyear: 2026\nindicators:\n" + "\n".join(items) + "\n",
                          encoding="utf-8")
    values = tmp / "values.csv"
    with values.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEAD)
        for i, code in enumerate(codes):
            for n in range(1, INDICATORS + 1):
                for q in range(1, QUARTERS + 1):
                    den = 40 + (i * 7 + n * 3 + q) % 160
                    writer.writerow([code, f"I{n:02d}", 2026, q, den * ((i + n + q) % 10) // 10, den])
    return directory, dictionary, values


def ours(tmp: Path, directory: Path, dictionary: Path, values: Path, expected: int) -> float:
    from qcflow.services import directory as directory_service
    from qcflow.services.indicator_import import import_values
    from qcflow.services.indicators import load_dictionary
    from qcflow.store.db import unit_of_work

    engine = prepare_database(sqlite_url(tmp), tmp / "data")
    with unit_of_work(engine) as s:
        directory_service.load_file(s, directory)
        load_dictionary(s, dictionary)
    t0 = time.perf_counter()
    with unit_of_work(engine) as s:
        report = import_values(s, values, SPECIALTY, ACTOR)
    spent = time.perf_counter() - t0
    if report.refused or report.created != expected:
        raise AssertionError(f"import: {report.lines()[:5]}")
    engine.dispose()
    return spent


def bare(db_path: Path, values: Path) -> float:
    db = sqlite3.connect(db_path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE v (id INTEGER PRIMARY KEY, institution TEXT, indicator TEXT, year INTEGER, "
               "quarter INTEGER, numerator REAL, denominator REAL)")
    t0 = time.perf_counter()
    with values.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        rows = list(reader)
    db.execute("BEGIN")
    db.executemany("INSERT INTO v (institution, indicator, year, quarter, numerator, denominator) "
                   "VALUES (?, ?, ?, ?, ?, ?)", rows)
    db.execute("COMMIT")
    spent = time.perf_counter() - t0
    db.close()
    return spent


def run(opts: Options) -> Result:
    institutions = 50 if opts.quick else 500
    expected = institutions * INDICATORS * QUARTERS
    result = Result(NAME)
    ratios, mine, base = [], [], []
    with tempfile.TemporaryDirectory(prefix="qcflow-bench-indicators-") as tmp:
        tmp_path = Path(tmp)
        directory, dictionary, values = write_inputs(tmp_path, institutions)
        for r in range(ROUNDS):
            base.append(bare(tmp_path / f"bare{r}.db", values))
            work = tmp_path / f"ours{r}"
            work.mkdir()
            mine.append(ours(work, directory, dictionary, values, expected))
            ratios.append(mine[-1] / base[-1])
            result.details.append(f"round {r + 1}: bare {seconds(base[-1])}, ours {seconds(mine[-1])}")
    over = median(ratios)
    result.figure = f"{expected:,} values {seconds(median(mine))}"
    result.checks.append(Check(f"bare executemany {seconds(median(base))}, ours/bare {over:.1f}×", "≤ 4×",
                               None if opts.quick else over <= 4))
    result.note = (f"{rate(expected / median(mine))} values/s; medians of {ROUNDS} alternating rounds, "
                   f"each import into a fresh migrated SQLite file, all rows new")
    return result
