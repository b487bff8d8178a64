"""H6: the annual report built from the demo's indicator data on a real SQLite file — its PDF holds the
Chinese headings and the analysis' numbers, the same data renders it byte for byte again, the expert
committee and the commission take it to publication through real SMTP mail, the published version
is immutable and reproducible, and `qcflow report build --json` runs as a child process."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError
from sqlmodel import select

from states.rules import Refused
from tests.conftest import ROOT
from tests.helpers import DIRECTOR, REVIEWER, SECRETARY
from tests.smtp import SmtpServer
from tests.live import live_site, mail_to_smtp, deliver_to

INDICATORS = ROOT / "demo" / "indicators"
EXPERT = "expert1@qcexperts.example"
SPECIALTY = "心血管内科"


@pytest.fixture
def data(demo):
    """The demo's fictional cardiology indicators: dictionaries, two years of values, the means."""
    from qcflow.services import directory
    from qcflow.services.indicator_import import import_means, import_values
    from qcflow.services.indicators import load_dictionary
    from qcflow.store.db import unit_of_work

    with unit_of_work() as session:
        directory.load_file(session, INDICATORS / "institutions.yaml")
    with unit_of_work() as session:
        for year in (2025, 2026):
            load_dictionary(session, INDICATORS / f"dictionary_{year}.yaml")
            import_values(session, INDICATORS / f"values_{year}.csv", SPECIALTY, SECRETARY)
        import_means(session, INDICATORS / "means.csv")
    return demo


@pytest.fixture
def smtp(data, monkeypatch):
    with mail_to_smtp(monkeypatch) as server:
        yield server


def _deliver(server: SmtpServer) -> list:
    return deliver_to(server)


def _build():
    from qcflow.services import annual_report
    from qcflow.store.db import unit_of_work

    with unit_of_work() as session:
        return annual_report.build(session, SPECIALTY, 2026)


def _fire(case_id: int, trigger: str, email: str, **kwargs):
    from qcflow import engine
    from qcflow.store.db import unit_of_work

    with unit_of_work() as session:
        return engine.fire(session, "annual_report", case_id, trigger, email=email, **kwargs)


def _pdf_text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    if shutil.which("pdftotext"):
        return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(str(path)).pages)


def _analysis() -> dict:
    from qcflow.services.indicators import analysis
    from qcflow.store.db import unit_of_work

    with unit_of_work(read_only=True) as session:
        return analysis(session, SPECIALTY, 2026)


def test_the_pdf_holds_the_chinese_headings_and_the_analysis_numbers(data, tmp_path):
    built = _build()
    text_ = _pdf_text(built.pdf, tmp_path)
    for heading in ("2026年度心血管内科专业医疗服务与质量安全报告", "一、总体情况", "二、各地区情况", "三、各级医疗机构情况",
                    "四、各医疗机构情况", "青川市第一人民医院"):
        assert heading in text_, heading
    first = _analysis()["indicators"][0]
    assert first["rate"] is not None
    assert f"{first['rate']:.2f}%" in text_  # the pooled rate part A computed, as the report prints it
    assert f"{first['numerator']:,}/{first['denominator']:,}" in text_
    assert built.state == "draft" and built.version == 1 and built.indicators == len(_analysis()["indicators"])


def test_the_same_data_renders_the_same_report_twice(data, tmp_path):
    first, second = _build(), _build()
    assert second.case_id == first.case_id  # the draft took the data again, no second case
    assert second.html == first.html  # byte-identical
    assert _pdf_text(second.pdf, tmp_path) == _pdf_text(first.pdf, tmp_path)


def test_reviewed_approved_published_by_mail_and_the_published_version_is_immutable_and_reproducible(smtp):
    from models.annual_report import AnnualReportVersion
    from qcflow.services import annual_report
    from qcflow.store.db import unit_of_work

    built = _build()
    [asked] = [m for m in _deliver(smtp) if EXPERT in m["To"]]
    assert asked["Subject"] == f"【待评审】年度质量安全报告 #{built.case_id} 2026年度心血管内科专业医疗服务与质量安全报告（第 1 版）"
    with pytest.raises(Refused, match="评审须填写专家委员会意见"):
        _fire(built.case_id, "review", EXPERT)
    with pytest.raises(Refused, match="只能由专家委员会委员"):
        _fire(built.case_id, "review", SECRETARY, comment="自己评审")
    _fire(built.case_id, "review", EXPERT, comment="数据与图表核对无误，同意")
    assert [m["Subject"] for m in _deliver(smtp) if REVIEWER in m["To"]] == \
        [f"【待批准】年度质量安全报告 #{built.case_id} 2026年度心血管内科专业医疗服务与质量安全报告（第 1 版）"]
    _fire(built.case_id, "approve", REVIEWER)
    _fire(built.case_id, "publish", REVIEWER)
    assert [m["Subject"] for m in _deliver(smtp) if DIRECTOR in m["To"]] == \
        [f"【已发布】年度质量安全报告 #{built.case_id} 2026年度心血管内科专业医疗服务与质量安全报告（第 1 版）"]

    with unit_of_work(read_only=True) as session:
        [row] = session.exec(select(AnnualReportVersion)).all()
        assert row.version == 1 and "第 1 版" in row.html and row.pdf.startswith(b"%PDF")
        assert annual_report.reproduces(session, row)
        published_html, published_pdf = row.html, row.pdf
    with pytest.raises(DatabaseError, match="immutable"):
        with unit_of_work() as session:
            session.exec(text("UPDATE annualreportversion SET html = 'x'"))
    with pytest.raises(Refused, match="已发布的报告不可更改"):
        _fire(built.case_id, "return", REVIEWER, comment="再改改")

    again = _build()  # new data after publication: the next version's draft, the published one untouched
    assert again.version == 2 and again.case_id != built.case_id and again.state == "draft"
    with unit_of_work(read_only=True) as session:
        row = annual_report.published_file(session, SPECIALTY, 2026, 1)
        assert (row.html, row.pdf) == (published_html, published_pdf)


def test_a_draft_is_previewed_only_by_those_allowed_to_see_institutions(data):
    from qcflow import engine
    from qcflow.services import annual_report
    from qcflow.store.db import unit_of_work

    built = _build()
    with unit_of_work(read_only=True) as session:
        nurse = engine.person_by_email(session, "secretary@nurs.qingchuan.example")
        expert = engine.person_by_email(session, EXPERT)
        for person_id in (None, nurse.id):
            with pytest.raises(Refused) as refused:
                annual_report.preview(session, built.case_id, person_id)
            assert refused.value.reasons[0].rule == "Y§22"
        _case, html = annual_report.preview(session, built.case_id, expert.id)
        assert "初稿，未经专家委员会评审" in html


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qcflow", *args], capture_output=True, text=True,
                          env=os.environ.copy(), cwd=ROOT, timeout=240)


def test_report_build_runs_from_the_shell_with_json_and_refuses_a_year_without_data(data, tmp_path):
    done = _cli("--json", "report", "build", "--specialty", SPECIALTY, "--year", "2026", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["state"] == "draft" and out["indicators"] > 0
    assert open(out["pdf"], "rb").read(4) == b"%PDF" and "一、总体情况" in open(out["html"], encoding="utf-8").read()
    missing = _cli("report", "build", "--specialty", SPECIALTY, "--year", "2019", "--out", str(tmp_path))
    assert missing.returncode == 2
    assert "没有 2019 年的指标字典" in missing.stderr + missing.stdout and "Traceback" not in missing.stderr


@pytest.fixture
def site(data, monkeypatch):
    """The web app on a real port, mailing to a real SMTP server (sign-in links, task links)."""
    with live_site(monkeypatch) as site_and_mailbox:
        yield site_and_mailbox


def test_the_expert_opens_the_emailed_link_and_the_preview_and_anyone_downloads_the_published_pdf(site):
    import httpx

    from tests.e2e.sessions import sign_in
    from tests.smtp import link_in

    base, mailbox = site
    built = _build()
    [asked] = [m for m in _deliver(mailbox) if EXPERT in m["To"]]
    expert = sign_in(base, mailbox, EXPERT)
    task = expert.get(link_in(asked))
    assert task.status_code == 200 and f"/annual-report/preview/{built.case_id}" in task.text
    preview = expert.get(f"/annual-report/preview/{built.case_id}")
    assert preview.status_code == 200 and preview.text == built.html
    with httpx.Client(base_url=base) as anonymous:
        refused = anonymous.get(f"/annual-report/preview/{built.case_id}")
        assert refused.status_code == 403 and "Y§22" in refused.text
        assert anonymous.get(f"/annual-report/{SPECIALTY}/2026/v1.pdf").status_code == 404  # nothing published yet

        _fire(built.case_id, "review", EXPERT, comment="同意")
        _fire(built.case_id, "approve", REVIEWER)
        _fire(built.case_id, "publish", REVIEWER)
        listing = anonymous.get(f"/annual-report/{SPECIALTY}")
        assert listing.status_code == 200 and "2026年度心血管内科专业医疗服务与质量安全报告（第 1 版）" in listing.text
        pdf = anonymous.get(f"/annual-report/{SPECIALTY}/2026/v1.pdf")
        html = anonymous.get(f"/annual-report/{SPECIALTY}/2026/v1.html")
    from models.annual_report import AnnualReportVersion
    from qcflow.store.db import unit_of_work

    with unit_of_work(read_only=True) as session:
        row = session.exec(select(AnnualReportVersion)).one()
    assert pdf.status_code == 200 and pdf.content == row.pdf and pdf.headers["content-type"] == "application/pdf"
    assert html.text == row.html and "第 1 版" in html.text


def test_the_flows_task_builds_a_specialty_with_data_skips_one_without_and_a_rerun_adds_nothing(smtp):
    from flows.annual_report import build_one

    first, skipped, again = build_one.fn(SPECIALTY, 2026), build_one.fn("护理", 2026), build_one.fn(SPECIALTY, 2026)
    assert first["state"] == "draft" and first["pdf_bytes"] > 0 and open(first["pdf"], "rb").read(4) == b"%PDF"
    assert "没有 2026 年的指标字典" in skipped["skipped"]
    assert (again["case_id"], again["html_sha256"]) == (first["case_id"], first["html_sha256"])
    assert [m["Subject"] for m in _deliver(smtp) if EXPERT in m["To"]] == \
        [f"【待评审】年度质量安全报告 #{first['case_id']} 2026年度心血管内科专业医疗服务与质量安全报告（第 1 版）"]  # the rerun opened nothing new
