"""annual-report: building a specialty's whole annual report (H6) — analysis, HTML and PDF with charts.

The data: 500 fictional institutions in 12 areas and 5 levels, a dictionary of 30 cardiology
indicators, 60,000 values (500 × 30 × 4 quarters) for 2026 and as many for 2025 (the year-on-year
trend), provincial and national means; imported into a fresh SQLite file with part A's importers
(untimed). Ours: `annual_report.build` for 2026 — the analysis from the database, the draft case's
snapshot, 90 matplotlib SVG charts, the HTML and the WeasyPrint PDF — in the same process, CPU and
wall time. Baseline, same run: the analysis alone (`indicators.analysis`), so the ratio says what
rendering costs on top of the numbers. 1 round (--quick: 60 institutions, 6 indicators).
Target (issue): ≤ 30 s at the full size.
"""
from __future__ import annotations

import csv
import random
import tempfile
import time
from pathlib import Path

import yaml

from benchmarks.support import SECRETARY, Check, Options, Result, judged, prepare_database, seconds, sqlite_url

NAME = "annual-report"
SPECIALTY = "心血管内科"
AREAS = [f"虚构{n}区" for n in "东南西北中"] + [f"虚构第{i}县" for i in range(1, 8)]
LEVELS = ["三级甲等", "三级乙等", "二级甲等", "二级乙等", "一级甲等"]


def write_data(folder: Path, institutions: int, indicators: int) -> dict[str, Path]:
    rng = random.Random(2026)
    codes = [f"BH{i:03d}" for i in range(institutions)]
    for year in (2025, 2026):
        (folder / f"dict_{year}.yaml").write_text(yaml.safe_dump({"specialty": SPECIALTY, "year": year, "indicators": [
            {"code": f"BM-{k:02d}", "name": f"虚构监测指标{k:02d}", "numerator": "符合要求的病例数", "denominator": "同期病例总数",
             "unit": "%", "direction": "higher" if k % 3 else "lower", "category": "process"}
            for k in range(indicators)]}, allow_unicode=True), encoding="utf-8")
        with (folder / f"values_{year}.csv").open("w", encoding="utf-8", newline="") as f:
            out = csv.writer(f)
            out.writerow(["机构代码", "指标代码", "年份", "季度", "分子", "分母"])
            for code in codes:
                for k in range(indicators):
                    for q in (1, 2, 3, 4):
                        den = rng.randint(0, 160)
                        out.writerow([code, f"BM-{k:02d}", year, q, rng.randint(0, den), den])
    with (folder / "means.csv").open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(["专业", "年份", "指标代码", "全省均值", "全国均值"])
        for year in (2025, 2026):
            for k in range(indicators):
                out.writerow([SPECIALTY, year, f"BM-{k:02d}", 50 + k % 5, 52 - k % 4])
    return {"codes": codes}  # type: ignore[dict-item]


def load(engine, folder: Path, codes: list[str]) -> None:
    from qcflow.services.indicator_import import import_means, import_values
    from qcflow.services.indicators import load_dictionary
    from qcflow.store.db import unit_of_work
    from qcflow.store.raw import Raw

    with unit_of_work(engine) as session:
        Raw(session).insert("institution", [{"code": code, "name": f"虚构第{i}医院", "level": LEVELS[i % len(LEVELS)],
                                             "county": AREAS[i % len(AREAS)]} for i, code in enumerate(codes)])
    for year in (2025, 2026):
        with unit_of_work(engine) as session:
            load_dictionary(session, folder / f"dict_{year}.yaml")
            import_values(session, folder / f"values_{year}.csv", SPECIALTY, SECRETARY)
    with unit_of_work(engine) as session:
        import_means(session, folder / "means.csv")


def run(opts: Options) -> Result:
    institutions, indicators = (60, 6) if opts.quick else (500, 30)
    result = Result(NAME)
    with tempfile.TemporaryDirectory(prefix="qcflow-bench-report-") as tmp:
        folder = Path(tmp)
        engine = prepare_database(sqlite_url(folder / "data"), folder / "data")
        codes = write_data(folder, institutions, indicators)["codes"]
        load(engine, folder, codes)  # type: ignore[arg-type]

        from qcflow.services import annual_report
        from qcflow.services.indicators import analysis
        from qcflow.store.db import unit_of_work

        with unit_of_work(engine, read_only=True) as session:
            t0 = time.perf_counter()
            numbers = analysis(session, SPECIALTY, 2026)
            bare = time.perf_counter() - t0
        wall0, cpu0 = time.perf_counter(), time.process_time()
        with unit_of_work(engine) as session:
            built = annual_report.build(session, SPECIALTY, 2026)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        engine.dispose()
    if built.indicators != indicators or len(numbers["indicators"]) != indicators:
        raise RuntimeError(f"the report holds {built.indicators} indicators, expected {indicators}")
    result.figure = seconds(wall)
    result.checks.append(Check(f"analysis alone {seconds(bare)}, report/analysis {wall / bare:.0f}×, CPU {seconds(cpu)}",
                               "≤ 30 s", judged(wall <= 30.0, False, opts.quick)))
    result.note = (f"{institutions} institutions × {indicators} indicators × 4 quarters, "
                   f"HTML {len(built.html) / 1e6:.1f} MB + PDF {len(built.pdf) / 1e6:.1f} MB, 3 charts per indicator")
    result.details.append(f"flags {built.flags}, html sha256 {annual_report.sha256(built.html)[:16]}")
    return result
