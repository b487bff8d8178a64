"""The inspection story as a new user meets it (Y§14(四), Y§20): the center plans with the CLI, the
commission authorizes from its email, the findings reach each institution's quality office by email,
the office adds its evidence from the link, and the center submits the report from its emailed link —
real SMTP, real HTTP, the CLI as a child process."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from models import Case
from qcflow.services.mail import deliver_outbox as deliver
from qcflow.store.db import unit_of_work
from tests.e2e.formpost import post
from tests.helpers import DIRECTOR, REVIEWER, ROOT, SECRETARY
from tests.integration.test_inspections import CONTACT, OFFICE, QUALITY_OFFICE_DIRECTORY
from tests.smtp import link_in, parts

pytestmark = pytest.mark.db


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qcflow", *args], capture_output=True, text=True,
                          env=dict(os.environ), cwd=ROOT, timeout=60)


def _file(tmp_path: Path, name: str, data: dict) -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return str(path)


def _arrives(mailbox, address: str, *parts_: str, timeout: float = 10.0) -> bool:
    """Whether a mail whose subject holds every part reaches `address` in time (others may be there already)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(all(p in m["Subject"] for p in parts_) for m in mailbox.to(address, timeout=0)):
            return True
        time.sleep(0.05)
    return False


def _state(case_id: int) -> str:
    with unit_of_work() as s:
        return s.get(Case, case_id).state


def test_plan_authorize_inspect_feed_back_and_report_from_the_emails(site, tmp_path):
    base, mailbox = site
    from qcflow.services import directory

    offices = tmp_path / "offices.yaml"
    offices.write_text(QUALITY_OFFICE_DIRECTORY, encoding="utf-8")
    with unit_of_work() as s:
        directory.load_file(s, offices)

    plan = {"center": "CARD", "title": "2026年度心血管专业督导检查方案", "year": 2026,
            "scope": "胸痛中心建设与急性心梗救治流程", "institutions": ["QCH1", "QCH2"]}
    planned = _cli(tmp_path, "inspections", "plan", "--as", SECRETARY, "--data", _file(tmp_path, "plan.yaml", plan),
                   "--json")
    assert planned.returncode == 0, planned.stderr
    plan_id = json.loads(planned.stdout)["id"]
    assert json.loads(planned.stdout)["state"] == "submitted"

    inspection = {"center": "CARD", "title": "2026年心血管专业督导检查", "plan": plan_id, "institutions": ["QCH1", "QCH2"],
                  "start_on": "2026-11-16", "contacts": [{"institution": "QCH1", "name": "吴医务", "email": CONTACT}]}
    spec = _file(tmp_path, "inspection.yaml", inspection)
    early = _cli(tmp_path, "inspections", "start", "--as", DIRECTOR, "--data", spec)
    assert early.returncode == 2 and "Y§14(四)" in early.stderr and "尚未经市卫生健康委授权" in early.stderr
    assert "Traceback" not in early.stderr

    deliver()
    review = mailbox.to(REVIEWER, "【待审核】")[0]
    link = link_in(review)
    page = httpx.get(link)
    assert page.status_code == 200 and "胸痛中心建设与急性心梗救治流程" in page.text and "授权开展" in page.text
    assert _state(plan_id) == "submitted"  # opening the link decided nothing
    authorized = post(link, data={"decision": "authorize"})
    assert authorized.status_code == 200 and _state(plan_id) == "authorized"
    deliver()
    assert mailbox.to(SECRETARY, "【督导检查方案已授权】")

    started = _cli(tmp_path, "inspections", "start", "--as", DIRECTOR, "--data", spec, "--json")
    assert started.returncode == 0, started.stderr
    inspection_id = json.loads(started.stdout)["id"]
    findings = {"findings": [
        {"institution": "QCH1", "item": "STEMI 患者 D2W 时间", "standard": "D2W≤90 分钟", "severity": "severe"},
        {"institution": "QCH2", "item": "溶栓知情同意书不全", "standard": "病历书写规范", "severity": "minor"}]}
    fed_back = _cli(tmp_path, "inspections", "findings", str(inspection_id), "--as", DIRECTOR,
                    "--data", _file(tmp_path, "findings.yaml", findings), "--end-on", "2026-11-20", "--json")
    assert fed_back.returncode == 0, fed_back.stderr
    out = json.loads(fed_back.stdout)
    assert out["state"] == "findings_sent" and out["report_due"] == "2026-12-20"

    deliver()
    office_mail = mailbox.to(OFFICE, "【督导检查反馈·请整改】")[0]
    text, _ = parts(office_mail)
    assert "溶栓知情同意书" not in text  # the mail carries the link, not the findings
    office_link = link_in(office_mail)
    office_page = httpx.get(office_link)
    assert "溶栓知情同意书不全" in office_page.text and "D2W" not in office_page.text  # its own list only
    evidenced = post(office_link, data={"decision": "add_evidence", "add_evidence.item": "1",
                                        "add_evidence.evidence": "已修订知情同意书模板并补签"})
    assert evidenced.status_code == 200, evidenced.text
    contact_page = httpx.get(link_in(mailbox.to(CONTACT, "【督导检查反馈·请整改】")[0]))
    assert contact_page.status_code == 200 and "D2W" in contact_page.text and "溶栓" not in contact_page.text

    report_mail = mailbox.to(DIRECTOR, "【待报送督导检查报告】")[0]
    assert "2026年12月20日" in parts(report_mail)[0]
    report_link = link_in(report_mail)
    empty = post(report_link, data={"decision": "submit_report", "submit_report.report": ""})
    assert empty.status_code == 422 and "Y§20" in empty.text
    sent = post(report_link, data={"decision": "submit_report",
                                   "submit_report.report": "一、检查概况；二、发现的问题；三、反馈与整改情况。"})
    assert sent.status_code == 200 and _state(inspection_id) == "report_submitted"
    deliver()
    assert _arrives(mailbox, REVIEWER, "【待审核】", "2026年心血管专业督导检查")  # the report's, not the plan's

    unnamed = _cli(tmp_path, "inspections", "show", str(inspection_id))  # Y§22: the reader says who they are
    assert unnamed.returncode == 2 and "Y§22" in unnamed.stderr and "--as" in unnamed.stderr
    assert "Traceback" not in unnamed.stderr and "STEMI" not in unnamed.stdout + unnamed.stderr
    shown = _cli(tmp_path, "inspections", "show", str(inspection_id), "--as", DIRECTOR, "--json")
    lists = json.loads(shown.stdout)["rectifications"]
    assert {r["institution"]: r["level"] for r in lists} == {"QCH1": "warning", "QCH2": "none"}
    listed = _cli(tmp_path, "inspections", "list", "--plans", "--json")
    assert [(r["id"], r["state"]) for r in json.loads(listed.stdout)] == [(plan_id, "authorized")]
    text = _cli(tmp_path, "inspections", "show", str(inspection_id), "--as", REVIEWER).stdout
    assert "报告已报送" in text and "青川市第一人民医院（QCH1）" in text and "预警" in text and "未达到预警标准" in text
