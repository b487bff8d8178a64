"""新建 over real HTTP: every page of web/new_cases.py, signed in by emailed link, CSRF-checked;
each form refuses with the reason beside its field and stores nothing, and on success redirects
(303) to what it made; who may open which form is the rules' answer."""
from __future__ import annotations

import re
import tempfile
from pathlib import Path

import httpx
import pytest
from sqlmodel import func, select

from models import Case, Meeting, Person
from qcflow.run.demo import walk_applications
from models.registry import Appointment, Attachment
from qcflow.store.db import unit_of_work
from tests.e2e.formpost import hidden_fields
from tests.e2e.sessions import sign_in
from tests.e2e.test_application_story_http import APPLICANT, application
from tests.helpers import DIRECTOR, REVIEWER, ROOT, SECRETARY

pytestmark = pytest.mark.db

PDF = b"%PDF-1.4\n% fictional material\n"
SAMPLE = ROOT / "demo" / "deaths" / "sample_deaths.csv"
ERRORS_OF = re.compile(r'<ul class="field-errors" id="e-([a-z_.]+)" role="alert">(.*?)</ul>', re.S)


def cases(kind: str) -> int:
    with unit_of_work() as s:
        return s.exec(select(func.count()).select_from(Case).where(Case.kind == kind)).one()


def field_errors(html: str) -> dict[str, str]:
    return {name: re.sub(r"<[^>]+>", "", text) for name, text in ERRORS_OF.findall(html)}


def submit(client: httpx.Client, path: str, data: dict, files=None, **kwargs) -> httpx.Response:
    form = {**hidden_fields(client.get(path).text), **data}
    return client.post(path, data=form, files=files, **kwargs)


def db_bytes(db_url: str) -> bytes:
    path = Path(db_url.removeprefix("sqlite:///"))
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


def test_new_lists_what_each_person_may_start_and_refuses_the_rest(site):
    base, mailbox = site
    assert httpx.get(f"{base}/new", follow_redirects=False).headers["location"] == "/login"
    secretary = sign_in(base, mailbox, SECRETARY)
    page = secretary.get("/new").text
    for href in ("/new/document", "/new/meeting", "/new/death", "/new/death_file", "/new/application"):
        assert f'href="{href}"' in page, href
    assert 'href="/new/roster"' not in page and "质控中心人员调整由卫健委" in page
    refused = secretary.get("/new/roster")
    assert refused.status_code == 403 and "Y§4" in refused.text

    reviewer = sign_in(base, mailbox, REVIEWER)
    page = reviewer.get("/new").text
    assert 'href="/new/roster"' in page and 'href="/new/document"' not in page
    refused = reviewer.get("/new/document")
    assert refused.status_code == 403 and "没有此权限" in refused.text and "新建公文须由本中心的" in refused.text
    assert reviewer.get("/new/meeting").status_code == 403
    assert reviewer.get("/new/nothing").status_code == 404


def test_a_document_is_refused_beside_its_fields_then_saved_and_opened(site):
    base, mailbox = site
    client = sign_in(base, mailbox, SECRETARY)
    form = client.get("/new/document").text
    assert 'name="doc_kind"' in form and "会议通知" in form and 'name="recipients"' in form

    bad = submit(client, "/new/document", {"doc_kind": "", "title": "", "body": "正文", "recipients": "只有名字"})
    assert bad.status_code == 422
    errors = field_errors(bad.text)
    assert "公文标题不能为空" in errors["title"] and "公文种类" in errors["doc_kind"]
    assert "收件人" in errors["recipients"] and "正文" in bad.text  # what was typed is kept
    assert cases("document") == 0

    done = submit(client, "/new/document", {
        "doc_kind": "meeting_notice", "title": "关于召开心血管病质控工作会议的通知", "body": "定于12月召开。",
        "recipients": "青川市第一人民医院医务科 | yiwu@qch1.qingchuan.example"}, follow_redirects=False)
    assert done.status_code == 303 and re.fullmatch(r"/cases/document/\d+", done.headers["location"])
    with unit_of_work() as s:
        case = s.exec(select(Case).where(Case.kind == "document")).one()
        assert case.state == "draft" and case.data["recipients"] == [
            {"name": "青川市第一人民医院医务科", "email": "yiwu@qch1.qingchuan.example"}]
    shown = client.get(done.headers["location"])
    assert shown.status_code == 200 and "关于召开心血管病质控工作会议的通知" in shown.text


def test_a_form_without_its_csrf_token_or_a_session_changes_nothing(site):
    base, mailbox = site
    client = sign_in(base, mailbox, SECRETARY)
    data = {"doc_kind": "other", "title": "无校验码", "body": "x", "recipients": "甲 | a@b.example"}
    forged = client.post("/new/document", data=data)
    assert forged.status_code == 403 and "安全校验码" in forged.text
    stranger = httpx.Client(base_url=base)
    tokens = hidden_fields(stranger.get("/login").text)
    for path in ("/new/document", "/new/death", "/new/meeting", "/new/roster"):
        answer = stranger.post(path, data={**tokens, **data})
        assert answer.status_code == 401 and "请先登录" in answer.text, path
    for path in ("/new/application", "/new/death_file", "/new/application/1/materials"):
        multipart = stranger.post(path, data=tokens, files={"material.license": ("l.pdf", PDF), "file": ("d.csv", b"x")})
        assert multipart.status_code == 401, path
    assert cases("document") == 0 and cases("application") == 0


def _application_form() -> dict[str, str]:
    data = application()
    rows = "\n".join(" | ".join([m["email"], m["role"], "是" if m.get("department_head") else "否",
                                 "是" if m.get("provincial_society_member") else "否"]) for m in data["roster"])
    return {k: data[k] for k in ("center_code", "center_name", "specialty", "category", "host")} | {"roster": rows}


def test_an_application_with_its_materials_uploaded_in_the_browser(site):
    base, mailbox = site
    client = sign_in(base, mailbox, APPLICANT)
    form = client.get("/new/application").text
    assert 'enctype="multipart/form-data"' in form and 'name="material.license"' in form and "QCH2" in form

    # A file that is not a PDF, image or docx is refused beside its slot, and nothing is stored at all.
    bad = submit(client, "/new/application", _application_form(),
                 files={"material.license": ("license.pdf", PDF), "material.letter_1": ("letter.pdf", b"MZ\x90\x00 not a pdf")})
    assert bad.status_code == 422, bad.text
    assert "类型不被接受" in bad.text and "letter.pdf" in bad.text and "请重新选择" in bad.text
    assert cases("application") == 0
    with unit_of_work() as s:
        assert s.exec(select(Attachment)).all() == []

    done = submit(client, "/new/application", _application_form(),
                  files={"material.license": ("执业许可证.pdf", PDF)}, follow_redirects=False)
    assert done.status_code == 303, done.text
    case_id = int(done.headers["location"].rsplit("/", 1)[1])
    with unit_of_work() as s:
        case = s.get(Case, case_id)
        assert case.state == "draft" and case.data["roster"][0] == {
            "email": APPLICANT, "role": "director", "department_head": True, "provincial_society_member": True}
        assert set(case.data["materials"]) == {"license"}

    # The rest later, from the materials page; an oversized file is refused (Y§9) and stores nothing.
    page = client.get(f"/new/application/{case_id}/materials").text
    assert "（已上传：执业许可证.pdf）" in page
    big = submit(client, f"/new/application/{case_id}/materials", {},
                 files={"material.letter_1": ("big.pdf", PDF + b"0" * (20 * 1024 * 1024))})
    assert big.status_code == 422 and "超过 20 MB 上限" in big.text
    slots = ("letter_1", "letter_2", "letter_3", "letter_4", "letter_5", "letter_6", "commitment")
    more = submit(client, f"/new/application/{case_id}/materials", {},
                  files={f"material.{slot}": (f"{slot}.pdf", PDF) for slot in slots}, follow_redirects=False)
    assert more.status_code == 303 and more.headers["location"] == f"/cases/application/{case_id}?done=attach"
    with unit_of_work() as s:
        assert len(s.get(Case, case_id).data["materials"]) == 8

    # Only the applicant uploads.
    other = sign_in(base, mailbox, SECRETARY)
    assert other.get(f"/new/application/{case_id}/materials").status_code == 403


def test_one_death_by_form_keeps_no_patient_identity(site, db_url):
    base, mailbox = site
    client = sign_in(base, mailbox, DIRECTOR)  # 青川市第一人民医院 (QCH1) reports its own deaths
    form = client.get("/new/death").text
    assert 'name="patient_name"' in form and "QCH1" in form and 'name="record_no"' in form
    death = {"record_no": "WEB-0001", "admitted_on": "2026-11-01", "died_on": "2026-11-05", "department": "心内科",
             "diagnosis": "急性心肌梗死", "drg": "FR29", "autopsy": "否", "patient_name": "网页测试患者甲",
             "id_number": "999999198001010011"}

    late = submit(client, "/new/death", {**death, "died_on": "2027-01-05"})
    assert late.status_code == 422 and "晚于今天" in field_errors(late.text)["died_on"]
    assert "网页测试患者甲" not in late.text and cases("death_review") == 0

    done = submit(client, "/new/death", death, follow_redirects=False)
    assert done.status_code == 303 and re.fullmatch(r"/cases/death_review/\d+", done.headers["location"])
    with unit_of_work() as s:
        case = s.exec(select(Case).where(Case.kind == "death_review")).one()
        assert case.data["record_no"] == "WEB-0001" and len(case.data["patient_key"]) == 64
        assert "patient_name" not in case.data and "id_number" not in case.data
    stored = db_bytes(db_url)
    assert "网页测试患者甲".encode() not in stored and b"999999198001010011" not in stored
    again = submit(client, "/new/death", death)
    assert again.status_code == 409 and "此前已报告" in again.text and cases("death_review") == 1


def test_a_death_file_is_imported_from_memory_and_its_summary_shown(site, db_url):
    base, mailbox = site
    client = sign_in(base, mailbox, DIRECTOR)
    leftovers = set(Path(tempfile.gettempdir()).glob("qcflow-upload-*"))
    first = submit(client, "/new/death_file", {}, files={"file": ("QCH1-2025-12.csv", SAMPLE.read_bytes(), "text/csv")})
    assert first.status_code == 200, first.text
    rows = sum(1 for line in SAMPLE.read_text(encoding="utf-8-sig").splitlines()[1:] if line.strip())
    assert f"读取 {rows} 行" in first.text and cases("death_review") > 0
    created = cases("death_review")

    again = submit(client, "/new/death_file", {}, files={"file": ("QCH1-2025-12.csv", SAMPLE.read_bytes(), "text/csv")})
    assert again.status_code == 200 and "新建病例 0 例" in again.text and cases("death_review") == created

    # The raw file (it holds names) was never written: not in the database, the data directory or /tmp.
    data_dir = Path(db_url.removeprefix("sqlite:///")).parent
    for path in [p for p in data_dir.rglob("*") if p.is_file()]:
        assert "测试患者0001".encode() not in path.read_bytes(), path
    assert set(Path(tempfile.gettempdir()).glob("qcflow-upload-*")) == leftovers

    wrong = submit(client, "/new/death_file", {}, files={"file": ("notes.csv", "姓名,备注\n甲,乙\n".encode(), "text/csv")})
    assert wrong.status_code == 422 and "notes.csv 的表头缺少必需的列" in wrong.text

    # A hospital imports only its own deaths (Y§22): another hospital's code in the form is refused.
    other = submit(client, "/new/death_file", {"hospital": "QCH2"}, files={"file": ("x.csv", SAMPLE.read_bytes())})
    assert other.status_code == 422 and "只能导入本单位的死亡病例" in other.text


def test_a_meeting_is_recorded_with_its_minutes(site):
    base, mailbox = site
    client = sign_in(base, mailbox, SECRETARY)
    data = {"kind": "member_meeting", "held_on": "2026-11-20", "title": "2026年下半年成员工作会议",
            "attendees": "陆一鸣 | 主任医师 | 青川市第一人民医院\n林小禾 | 主治医师 | 青川市第一人民医院",
            "minutes": "通报下半年质控指标。"}
    future = submit(client, "/new/meeting", {**data, "held_on": "2026-12-20"})
    assert future.status_code == 422 and "会议召开后才能登记" in field_errors(future.text)["held_on"]
    done = submit(client, "/new/meeting", data, follow_redirects=False)
    assert done.status_code == 303
    shown = client.get(done.headers["location"])
    assert shown.status_code == 200 and "已登记成员工作会议" in shown.text and "通报下半年质控指标" in shown.text
    with unit_of_work() as s:
        meeting = s.exec(select(Meeting)).one()
        assert [a["name"] for a in meeting.attendees] == ["陆一鸣", "林小禾"]


def test_the_commission_changes_a_roster_by_the_same_rules(site):
    base, mailbox = site
    walk_applications()  # RESP established through the whole application workflow
    client = sign_in(base, mailbox, REVIEWER)
    page = client.get("/new/roster").text
    assert 'name="add"' in page and "RESP" in page
    add = "shi.lei@lxh.qingchuan.example | 成员 | 否 | 否"
    no_reason = submit(client, "/new/roster", {"center": "RESP", "add": add})
    assert no_reason.status_code == 422 and "须写明原因" in field_errors(no_reason.text)["reason"]
    county = submit(client, "/new/roster", {"center": "RESP", "add": add, "reason": "增补县级医院成员"})
    assert county.status_code == 422 and "Y§12" in county.text  # a second member from the same county hospital
    done = submit(client, "/new/roster", {"center": "RESP", "add": add, "remove": "mu.qinghe@lxh.qingchuan.example",
                                          "reason": "成员调整"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/centers/RESP", done.text
    with unit_of_work() as s:
        current = {a.person_id for a in s.exec(select(Appointment).where(Appointment.ended_on.is_(None)))}
        shi = s.exec(select(Person).where(Person.email == "shi.lei@lxh.qingchuan.example")).one()
        mu = s.exec(select(Person).where(Person.email == "mu.qinghe@lxh.qingchuan.example")).one()
        assert shi.id in current and mu.id not in current
    assert "石磊" in client.get("/centers/RESP").text

