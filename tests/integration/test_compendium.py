"""H2: the must-know compendium on a real SQLite file and over real HTTP — drafted with its files,
approved by the commission (mails through a real SMTP server), published as a version anyone may
download without signing in, never changed after; signed-in staff record that they studied it,
and the count feeds the assessment evidence."""
from __future__ import annotations

import hashlib

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from states.rules import Refused
from tests.helpers import DIRECTOR, REVIEWER, SECRETARY
from tests.smtp import SmtpServer
from tests.live import live_site, mail_to_smtp, deliver_to

SPECIALTY = "心血管内科"
PDF = b"%PDF-1.4\n% fictional compendium attachment\n"
COMMON = [{"title": "医疗质量管理办法", "source": "国家卫生计生委令第10号", "file": "医疗质量管理办法.pdf"},
          {"title": "医疗质量安全核心制度要点释义（第二版）", "source": "国家卫生健康委医政司", "file": ""}]
SPECIAL = [{"title": "2026年心血管内科改进目标工作方案", "source": "青川市心血管病质控中心", "file": ""}]


@pytest.fixture
def smtp(demo, monkeypatch):
    with mail_to_smtp(monkeypatch) as server:
        yield server


def _deliver(server: SmtpServer) -> list:
    return deliver_to(server)


def _fire(case_id: int, trigger: str, email: str, **kwargs):
    from qcflow import engine
    from qcflow.store.db import unit_of_work

    with unit_of_work() as session:
        return engine.fire(session, "compendium", case_id, trigger, email=email, **kwargs)


def _draft(title: str = "心血管内科专业应知应会（2026 版）", special: list = SPECIAL) -> int:
    from qcflow import engine
    from qcflow.store.db import unit_of_work

    with unit_of_work() as session:
        return engine.create_case(session, "compendium", SECRETARY,
                                  {"center": "CARD", "title": title, "common": COMMON, "special": special}).id


def _attach(case_id: int, name: str = "医疗质量管理办法.pdf", content: bytes = PDF, email: str = SECRETARY):
    from qcflow.services import compendium
    from qcflow.store.db import unit_of_work

    with unit_of_work() as session:
        return compendium.attach(session, case_id, email, name, content)


def _publish(case_id: int) -> None:
    _attach(case_id)
    _fire(case_id, "submit", SECRETARY)
    _fire(case_id, "approve", REVIEWER)


@pytest.fixture
def client(demo):
    """The web app on a real port on 127.0.0.1, and an HTTP client for it."""
    from tests.live import serving
    from tests.smtp import free_port

    with serving(free_port()) as base, httpx.Client(base_url=base) as http:
        yield http


def test_a_file_the_compendium_names_must_be_uploaded_before_it_is_submitted(demo):
    case_id = _draft()
    with pytest.raises(Refused) as refused:
        _fire(case_id, "submit", SECRETARY)
    assert [str(r) for r in refused.value.reasons] == \
        ["以下附件尚未上传：医疗质量管理办法.pdf（qcflow compendium attach 编号 文件）（H2）"]
    with pytest.raises(Refused, match="只有本中心主任或秘书可以上传"):
        _attach(case_id, email="secretary@nurs.qingchuan.example")


def test_an_empty_part_is_refused_naming_what_it_must_hold(demo):
    case_id = _draft(special=[])
    _attach(case_id)
    with pytest.raises(Refused) as refused:
        _fire(case_id, "submit", SECRETARY, changes={"special": []})  # an empty table on the form changes nothing
    assert any("个性内容不能为空" in str(r) and r.rule == "H2" for r in refused.value.reasons)


def test_approval_publishes_a_version_that_is_public_downloadable_and_immutable(smtp, client):
    from qcflow.store.db import unit_of_work

    case_id = _draft()
    _attach(case_id)
    _fire(case_id, "submit", SECRETARY)
    assert [m["Subject"] for m in _deliver(smtp) if REVIEWER in m["To"]] == [f"【待审核】应知应会 #{case_id} 心血管内科专业应知应会（2026 版）"]
    page = client.get(f"/compendium/{SPECIALTY}")
    assert page.status_code == 200 and "尚无已发布的应知应会" in page.text  # a draft under review is not public

    _fire(case_id, "approve", REVIEWER)
    assert [m["Subject"] for m in _deliver(smtp) if DIRECTOR in m["To"]] == [f"【已发布】应知应会 #{case_id} 心血管内科专业应知应会（2026 版）"]

    page = client.get(f"/compendium/{SPECIALTY}")  # no sign-in
    assert page.status_code == 200
    assert "心血管内科专业应知应会（2026 版）（第 1 版" in page.text and "国家卫生计生委令第10号" in page.text
    download = client.get(f"/compendium/{SPECIALTY}/v1/files/医疗质量管理办法.pdf")
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["x-content-sha256"] == hashlib.sha256(PDF).hexdigest()
    assert client.get(f"/compendium/{SPECIALTY}/v1/files/other.pdf").status_code == 404

    for statement in ("UPDATE compendiumversion SET title = 'x'", "DELETE FROM compendiumfile"):
        with pytest.raises(DatabaseError, match="immutable"):
            with unit_of_work() as session:
                session.exec(text(statement))
    with pytest.raises(Refused, match="已发布的版本不可更改"):
        _fire(case_id, "edit", SECRETARY, changes={"title": "改标题"})
    with pytest.raises(Refused, match="已报送或已发布的版本不可更改"):
        _attach(case_id, content=b"other bytes")

    second = _draft("心血管内科专业应知应会（2026 修订版）")
    _publish(second)
    page = client.get(f"/compendium/{SPECIALTY}")
    assert "（第 2 版，最新" in page.text and "（第 1 版" in page.text
    assert client.get(f"/compendium/{SPECIALTY}/v1/files/医疗质量管理办法.pdf").content == PDF


def test_signed_in_staff_record_their_study_once_and_it_counts_as_assessment_evidence(demo, client):
    from models import Center
    from qcflow import engine
    from qcflow.services import compendium, evidence
    from qcflow.store.db import unit_of_work
    from sqlmodel import select

    _publish(_draft())
    refused = client.post(f"/compendium/{SPECIALTY}/v1/studied", data={})
    assert refused.status_code == 403  # no CSRF token, no sign-in: nothing recorded
    with unit_of_work() as session:
        person = engine.person_by_email(session, SECRETARY)
        assert compendium.record_study(session, person.id, SPECIALTY, 1)["already"] is False
        assert compendium.record_study(session, person.id, SPECIALTY, 1)["already"] is True
        other = engine.person_by_email(session, "secretary@nurs.qingchuan.example")
        compendium.record_study(session, other.id, SPECIALTY, 1)
    with unit_of_work(read_only=True) as session:
        assert compendium.study_count(session, SPECIALTY) == 2
        center = session.exec(select(Center).where(Center.code == "CARD")).one()
        [found] = [s for s in evidence.collect(session, center, 2026) if s["source"] == "应知应会发布与学习（H2）"]
        assert found["item"] == "4"
        assert [e["label"] for e in found["entries"]] == ["心血管内科专业应知应会（2026 版）（第 1 版）", "2026 年学习记录 2 人"]


@pytest.fixture
def site(demo, monkeypatch):
    """The web app on a real port, with a real SMTP server for the sign-in mail."""
    with live_site(monkeypatch) as site_and_mailbox:
        yield site_and_mailbox


def test_a_signed_in_person_records_the_study_from_the_public_page(site):
    from tests.e2e.formpost import hidden_fields
    from tests.e2e.sessions import sign_in

    base, mailbox = site
    _publish(_draft())
    person = sign_in(base, mailbox, "deputy@card.qingchuan.example")
    shown = person.get(f"/compendium/{SPECIALTY}")
    assert "我已学习第 1 版" in shown.text and "已有 0 人登记学习" in shown.text
    done = person.post(f"/compendium/{SPECIALTY}/v1/studied", data=hidden_fields(shown.text), follow_redirects=True)
    assert done.status_code == 200 and "已登记：您已学习第 1 版" in done.text and "已有 1 人登记学习" in done.text
    again = person.post(f"/compendium/{SPECIALTY}/v1/studied", data=hidden_fields(shown.text), follow_redirects=True)
    assert "已有 1 人登记学习" in again.text  # once per person and version
    forged = person.post(f"/compendium/{SPECIALTY}/v1/studied", data={"csrf": "forged"})
    assert forged.status_code == 403


def test_files_are_attached_and_versions_listed_from_the_shell(demo, tmp_path):
    import json
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    case_id = _draft()
    file = tmp_path / "医疗质量管理办法.pdf"
    file.write_bytes(PDF)

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "qcflow", *args], capture_output=True, text=True,
                              env=os.environ.copy(), cwd=ROOT, timeout=120)

    refused = cli("compendium", "attach", str(case_id), str(file), "--as", "secretary@nurs.qingchuan.example")
    assert refused.returncode == 2 and "H2" in refused.stderr + refused.stdout
    done = cli("--json", "compendium", "attach", str(case_id), str(file), "--as", SECRETARY)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["sha256"] == hashlib.sha256(PDF).hexdigest()
    _fire(case_id, "submit", SECRETARY)
    _fire(case_id, "approve", REVIEWER)
    listed = cli("--json", "compendium", "list", "--specialty", SPECIALTY)
    assert [(v["version"], v["title"]) for v in json.loads(listed.stdout)] == [(1, "心血管内科专业应知应会（2026 版）")]
