"""The demo's fictional cardiology indicators (H3): more hospitals, two years' dictionaries, quarterly
values, provincial and national means, and the guidance tasks the analysis opens. Once per database
(the dispatch ledger holds the key); each part is idempotent by itself too."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from qcflow.core.clock import utcnow
from qcflow.services import directory
from qcflow.services.indicator_import import import_means, import_values
from qcflow.services.indicators import load_dictionary, open_guidance
from qcflow.store.db import unit_of_work
from qcflow.store.ledger import claim
from qcflow.store.raw import Raw

INDICATORS = Path(__file__).resolve().parents[2] / "demo" / "indicators"
KEY = "demo:indicators"
SPECIALTY = "心血管内科"
IMPORTER = "secretary@card.qingchuan.example"
YEARS = (2025, 2026)


def load() -> Optional[dict]:
    """Load the data set and open the year's guidance tasks; None when it was loaded before."""
    with unit_of_work() as session:
        if Raw(session).first('SELECT 1 FROM dispatch WHERE "key" = ?', [KEY]) is not None:
            return None
        directory.load_file(session, INDICATORS / "institutions.yaml")
        for year in YEARS:
            load_dictionary(session, INDICATORS / f"dictionary_{year}.yaml")
        for year in YEARS:
            report = import_values(session, INDICATORS / f"values_{year}.csv", SPECIALTY, IMPORTER)
            if report.refused:
                raise RuntimeError("demo indicator values refused: " + "; ".join(report.lines()))
        means = import_means(session, INDICATORS / "means.csv")
        if means.errors:
            raise RuntimeError("demo means refused: " + "; ".join(means.lines()))
        guidance = open_guidance(session, SPECIALTY, YEARS[-1])
        claim(session, KEY, "demo", utcnow())
    return guidance


def summary() -> str:
    """What the demo's indicator part left, for `qcflow demo` to print."""
    with unit_of_work(read_only=True) as session:
        rows = Raw(session).rows("SELECT id, title, state FROM qc_case WHERE kind = 'guidance' ORDER BY id")
    lines = [f"▶ 质控指标（{SPECIALTY}，2025–2026 年，虚构数据）：未达标者已开“带着数据”专项指导 {len(rows)} 项，"
             "邮件已发给心血管病质控中心主任和秘书"]
    lines += [f"    专项指导 #{case_id} {title}" for case_id, title, _ in rows]
    lines.append("    看板：/indicators（登录后按身份显示）；命令：qcflow indicators show --specialty CARD --year 2026 --as EMAIL")
    return "\n".join(lines)
