"""Generated spreadsheet rows through the death import: 0 tracebacks. Each file either imports (every row
counted once: created + duplicates + refused = read) or is refused with a Chinese UserError and nothing stored."""
from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qcflow.core.errors import UserError
from qcflow.services.deaths_import import import_file
from tests.fuzz.strategies import CELLS
from tests.fuzz.support import CHINESE, EXAMPLES, REVIEWER, dump

pytestmark = pytest.mark.db
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
HEADER = ["病案号", "患者姓名", "身份证号", "入院日期", "死亡日期", "科室", "主要诊断", "DRG分组", "是否尸检", "低风险",
          "不良事件分级"]
GOOD = ["2026000001", "测试患者", "999999197001010011", "2026-10-01", "2026-10-05", "心内科", "心梗", "FR29", "否", "", ""]


def _row(cells: list[str], keep: list[bool]) -> list[str]:
    return [cell if not k else good for cell, good, k in zip(cells, GOOD, keep)]


ROWS = st.lists(st.tuples(st.lists(CELLS, min_size=11, max_size=11), st.lists(st.booleans(), min_size=11,
                                                                              max_size=11)), min_size=1, max_size=8)


@FUZZ
@given(rows=ROWS, header_cut=st.integers(min_value=0, max_value=11), raw_tail=st.sampled_from(
    ["", '"unclosed', "\x00", "a," * 300, "\r\r\n"]))
def test_generated_rows_import_or_are_refused_in_chinese(demo, tmp_path, rows, header_cut, raw_tail):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER if header_cut == 11 or header_cut == 0 else HEADER[:header_cut] + HEADER[header_cut + 1:])
    for cells, keep in rows:
        writer.writerow(_row(cells, keep))
    path = tmp_path / "deaths.csv"
    path.write_text(buffer.getvalue() + raw_tail, encoding="utf-8", errors="surrogatepass")
    before = dump(demo)
    try:
        report = import_file(demo, path, "QCH1", REVIEWER, today=date(2026, 11, 24), batch_size=3)
    except UserError as err:
        assert CHINESE.search(str(err)), err
        assert dump(demo) == before
        return
    assert report.read == report.created + report.duplicates + report.refused
    assert all(CHINESE.search(str(e)) for e in report.errors)
