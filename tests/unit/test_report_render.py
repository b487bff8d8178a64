"""H6: the annual report rendered from a fixed analysis (the shape part A's analysis returns): the
Chinese headings and the numbers are in the HTML and in the PDF's extracted text, and the same
analysis renders byte-identical HTML twice."""
from __future__ import annotations

import copy
import shutil
import subprocess

import pytest

from qcflow.services.report_render import ReportHeading, fmt_change, fmt_rate, render_html, render_pdf, verdict


def _inst(code, name, city, level, num, den, rank, previous=None):
    return {"code": code, "name": name, "city": city, "level": level, "level_group": level[:2], "numerator": num,
            "denominator": den, "rate": round(num / den * 100, 4) if den else None, "rank": rank,
            "quarters": {1: None}, "previous_rate": previous}


ANALYSIS = {"specialty": "心血管内科", "year": 2026, "indicators": [
    {"code": "CARD-01", "name": "STEMI患者再灌注治疗率", "unit": "%", "direction": "higher", "direction_label": "越高越好",
     "category": "process", "category_label": "过程指标", "numerator": 412, "denominator": 500, "rate": 82.4,
     "overall_rate": 82.4, "province_mean": 80.15, "national_mean": 81.2, "target": 85.0, "previous_rate": 78.4,
     "change": 4.0,
     "by_city": [{"city": "青川市本级", "institutions": 2, "numerator": 380, "denominator": 450, "rate": 84.4444,
                  "previous_rate": 80.0, "rank": 1},
                 {"city": "临溪县", "institutions": 1, "numerator": 32, "denominator": 50, "rate": 64.0,
                  "previous_rate": 60.0, "rank": 2}],
     "by_level": [{"level": "三级", "institutions": 2, "numerator": 380, "denominator": 450, "rate": 84.4444, "rank": 1},
                  {"level": "二级", "institutions": 1, "numerator": 32, "denominator": 50, "rate": 64.0, "rank": 2}],
     "by_institution": [_inst("QCH1", "青川市第一人民医院", "青川市本级", "三级甲等", 250, 290, 1, 83.0),
                        _inst("QCH2", "青川市中心医院", "青川市本级", "三级甲等", 130, 160, 2),
                        _inst("LXH", "临溪县人民医院", "临溪县", "二级甲等", 32, 50, 3)],
     "flags": [{"scope": "institution", "scope_label": "医疗机构", "subject": "LXH", "subject_name": "临溪县人民医院",
                "numerator": 32, "denominator": 50, "rate": 64.0, "against": "target", "benchmark": 85.0, "gap": 21.0,
                "message": "临溪县人民医院STEMI患者再灌注治疗率为 64.00%（32/50），越高越好，未达改进目标值 85.00%，差 21.00%",
                "rule": "H3"}]},
    {"code": "CARD-07", "name": "心力衰竭住院死亡率", "unit": "%", "direction": "lower", "direction_label": "越低越好",
     "category": "outcome", "category_label": "结果指标", "numerator": 0, "denominator": 0, "rate": None,
     "overall_rate": None, "province_mean": 2.6, "national_mean": None, "target": None, "previous_rate": None,
     "change": None, "by_city": [], "by_level": [], "by_institution": [], "flags": []},
]}
HEADING = ReportHeading(specialty="心血管内科", year=2026, center_name="青川市心血管病医疗质量控制中心", region="青川市")


def test_the_report_holds_its_sections_and_the_pooled_numbers_against_means_and_targets():
    html = render_html(ANALYSIS, HEADING)
    for heading in ("2026年度心血管内科专业医疗服务与质量安全报告", "一、总体情况", "二、各地区情况", "三、各级医疗机构情况",
                    "四、各医疗机构情况", "五、未达标情况与“带着数据”专项指导"):
        assert heading in html
    assert "82.40%" in html and "412/500" in html and "84.44%" in html and "64.00%" in html
    assert "+4.00个百分点" in html
    assert "无数据" in html  # the zero-denominator indicator
    assert "临溪县人民医院 64.00%（32/50，差 21.00%）" in html  # the shortfall named with its numbers
    assert "设有改进目标值的 1 项指标中，0 项达到目标值" in html
    assert html.count('src="data:image/svg+xml;base64,') == 6  # per indicator: cities vs means, the trend, the levels


def test_the_same_analysis_renders_byte_identical_html_and_another_one_does_not():
    first = render_html(ANALYSIS, HEADING)
    assert render_html(copy.deepcopy(ANALYSIS), HEADING) == first
    changed = copy.deepcopy(ANALYSIS)
    changed["indicators"][0]["by_city"][1]["rate"] = 65.0
    assert render_html(changed, HEADING) != first


def test_a_draft_says_it_is_not_for_publication_and_a_version_says_its_number():
    assert "初稿，未经专家委员会评审和卫健委批准" in render_html(ANALYSIS, HEADING)
    published = render_html(ANALYSIS, ReportHeading("心血管内科", 2026, region="青川市", version=2))
    assert "第 2 版" in published and "初稿，未经" not in published


def test_numbers_are_printed_as_a_clerk_reads_them():
    assert fmt_rate(None) == "无数据" and fmt_rate(12.3456) == "12.35%" and fmt_rate(3, "‰") == "3.00‰"
    assert fmt_change(-1.5) == "-1.50个百分点" and fmt_change(None) == "—"
    assert verdict(2.5, 2.6, "lower") == "达到" and verdict(2.7, 2.6, "lower") == "未达到"
    assert verdict(None, 2.6, "higher") == ""


def _pdf_text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    if shutil.which("pdftotext"):
        return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(str(path)).pages)


def test_the_pdf_renders_the_chinese_headings_and_the_numbers_the_same_way_twice(tmp_path):
    html = render_html(ANALYSIS, HEADING)
    first, second = render_pdf(html), render_pdf(html)
    assert first.startswith(b"%PDF")
    text = _pdf_text(first, tmp_path)
    for needed in ("医疗服务与质量安全报告", "一、总体情况", "各地区情况", "临溪县人民医院", "82.40%", "64.00%", "412/500"):
        assert needed in text, needed
    assert "\ufffd" not in text and "□" not in text
    assert _pdf_text(second, tmp_path) == text


@pytest.mark.parametrize("bad", [None, "x", float("nan"), float("inf")])
def test_odd_values_print_as_no_data_not_a_traceback(bad):
    analysis = copy.deepcopy(ANALYSIS)
    analysis["indicators"][0]["province_mean"] = bad
    analysis["indicators"][0]["by_city"][0]["rate"] = bad
    assert "无数据" in render_html(analysis, HEADING)


def test_each_chart_is_a_matplotlib_svg_without_a_date_and_with_fixed_ids():
    import base64
    import re

    html = render_html(ANALYSIS, HEADING)
    charts = [base64.b64decode(b).decode() for b in re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', html)]
    assert len(charts) == 6 and all("<svg" in svg for svg in charts)
    assert not any("<dc:date>" in svg for svg in charts)
    assert "STEMI患者再灌注治疗率" in charts[0]  # text kept as text (svg.fonttype none), set in the CJK font
    assert "Noto Sans CJK SC" in charts[0]
