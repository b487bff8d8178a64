"""Application materials (Y§9): uploads are stored by checksum with their size and type, and a bad
upload is refused without changing anything already stored. Also `qcflow case attach` and
`qcflow center list/show` as a user runs them."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from sqlmodel import select

from models import Attachment, Case
from qcflow import engine
from qcflow.services.applications import attach_file, files_dir, read_upload
from qcflow.store.db import unit_of_work
from states import materials
from states.policy import Limit
from states.rules import Reason, Refused
from tests.helpers import REVIEWER, ROOT

pytestmark = pytest.mark.db

APPLICANT = "yan.keqin@qch2.qingchuan.example"
DEPUTY = "qin.fangzhou@qch2.qingchuan.example"  # on the proposed roster, but did not create the application
EXPERTS = ("expert2@qcexperts.example", "expert3@qcexperts.example", "expert4@qcexperts.example")
SLOTS = ("license", "letter_1", "letter_2", "letter_3", "letter_4", "letter_5", "letter_6", "commitment")
LICENSE = "《医疗机构执业许可证》或其他资质证明复印件"
TYPE_REFUSED = "的类型不被接受；只接受 PDF、PNG 图片、JPEG 图片、Word（docx）"
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"


def application() -> dict:
    return yaml.safe_load((ROOT / "demo" / "applications" / "respiratory.yaml").read_text(encoding="utf-8"))


@pytest.fixture
def case_id(demo) -> int:
    """The respiratory application, drafted by its director."""
    with unit_of_work() as s:
        return engine.create_case(s, "application", APPLICANT, application()).id


def attach(case_id: int, slot: str, content: bytes, filename: str, email: str = APPLICANT) -> Attachment:
    with unit_of_work() as s:
        row = attach_file(s, case_id, slot, content, filename, email)
        s.expunge(row)
        return row


def fire(case_id: int, trigger: str, email, **kwargs):
    with unit_of_work() as s:
        return engine.fire(s, "application", case_id, trigger, email=email, **kwargs)


def stored_files() -> list[Path]:
    root = files_dir()
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def everything(case_id: int) -> tuple:
    """All that an upload could change: the case, its attachments and the stored files."""
    with unit_of_work() as s:
        case = s.get(Case, case_id)
        rows = [(a.slot, a.filename, a.size, a.sha256) for a in s.exec(select(Attachment).order_by(Attachment.id))]
        return case.state, case.version, case.data, rows, stored_files()


def refused_upload(case_id: int, slot: str, content: bytes, filename: str, email: str = APPLICANT) -> list[Reason]:
    before = everything(case_id)
    with pytest.raises(Refused) as refused:
        attach(case_id, slot, content, filename, email)
    assert everything(case_id) == before
    return refused.value.reasons


# --- refusals --------------------------------------------------------------------------------------


def test_a_text_file_named_pdf_is_refused_by_its_content(case_id):
    reasons = refused_upload(case_id, "license", b"This is plain text, not a PDF.\n", "license.pdf")
    assert reasons == [Reason("Y§9", f"文件“license.pdf”{TYPE_REFUSED}")]
    assert not stored_files()


@pytest.mark.parametrize("content", [b"%PDF", b"PDF-1.7", b" %PDF-1.7", b"GIF89a....", b"\x89PNG\r\n", b"PK\x03"])
def test_content_that_only_looks_like_an_allowed_type_is_refused(case_id, content):
    assert refused_upload(case_id, "license", content, "scan.pdf") == [Reason("Y§9", f"文件“scan.pdf”{TYPE_REFUSED}")]


def test_an_oversized_file_is_refused_with_the_limit(case_id, monkeypatch):
    monkeypatch.setattr(materials, "MAX_BYTES", Limit(1024 * 1024, "Y§9"))
    big = PDF + b"0" * (2 * 1024 * 1024 - len(PDF))
    reasons = refused_upload(case_id, "letter_1", big, "letter_1.pdf")
    assert reasons == [Reason("Y§9", "文件“letter_1.pdf”大小 2.0 MB，超过 1 MB 上限")]
    exactly = PDF + b"0" * (1024 * 1024 - len(PDF))
    assert attach(case_id, "letter_1", exactly, "letter_1.pdf").size == 1024 * 1024


def test_the_default_limit_is_20_mb():
    assert materials.MAX_BYTES == Limit(20 * 1024 * 1024, "Y§9")
    assert materials.check_upload("license", "a.pdf", 20 * 1024 * 1024, "application/pdf") == []
    assert materials.check_upload("license", "a.pdf", 20 * 1024 * 1024 + 1, "application/pdf") == [
        Reason("Y§9", "文件“a.pdf”大小 20.0 MB，超过 20 MB 上限")]


def test_read_upload_stops_at_the_limit(tmp_path):
    path = tmp_path / "big.pdf"
    path.write_bytes(PDF + b"0" * (1024 * 1024 + 1 - len(PDF)))
    with pytest.raises(Refused) as refused:
        read_upload(path, limit=1024 * 1024)
    assert refused.value.reasons == [Reason("Y§9", "文件“big.pdf”超过 1 MB 上限")]
    path.write_bytes(PDF + b"0" * (1024 * 1024 - len(PDF)))
    assert read_upload(path, limit=1024 * 1024) == path.read_bytes()


def test_an_empty_file_is_refused(case_id):
    reasons = refused_upload(case_id, "license", b"", "empty.pdf")
    assert Reason("Y§9", "文件“empty.pdf”是空文件") in reasons


def test_an_unknown_slot_is_refused_listing_the_slots(case_id):
    (reason,) = refused_upload(case_id, "cv", PDF, "cv.pdf")
    assert reason.rule == "Y§9"
    assert reason.message.startswith("没有名为“cv”的材料项；可用：")
    for slot in SLOTS:
        assert f"{slot}（" in reason.message


def test_every_fault_of_an_upload_is_listed_at_once(case_id):
    reasons = refused_upload(case_id, "cv", b"hello", "cv.pdf")
    assert [r.message.split("；")[0] for r in reasons] == ["没有名为“cv”的材料项", "文件“cv.pdf”的类型不被接受"]


@pytest.mark.parametrize("who,name", [(DEPUTY, "秦方舟"), (REVIEWER, "周文清"), ("expert1@qcexperts.example", "白敬之")])
def test_only_the_applicant_may_upload(case_id, who, name):
    reasons = refused_upload(case_id, "license", PDF, "license.pdf", email=who)
    assert reasons == [Reason("Y§9", f"“上传材料”只能由申请人本人进行，{name}没有此权限")]
    assert not stored_files()


def test_someone_outside_the_directory_may_not_upload(case_id):
    (reason,) = refused_upload(case_id, "license", PDF, "license.pdf", email="stranger@example.org")
    assert "人员名录中没有邮箱为 stranger@example.org 的人员" in reason.message


def test_no_upload_after_submission(case_id):
    fire(case_id, "submit", APPLICANT)
    reasons = refused_upload(case_id, "license", PDF, "license.pdf")
    assert reasons == [Reason("Y§9", "“上传材料”只能在拟稿、补充材料状态下进行，当前为材料审查")]
    assert not stored_files()


def test_no_upload_to_a_case_of_another_kind_or_that_does_not_exist(demo):
    from tests.helpers import SECRETARY, new_document

    with unit_of_work() as s:
        document_id = new_document(s, SECRETARY)
    with pytest.raises(Refused) as refused:
        attach(document_id, "license", PDF, "license.pdf", email=SECRETARY)
    assert f"没有编号为 {document_id} 的质控中心设置申请" in str(refused.value)
    with unit_of_work() as s:
        assert not s.exec(select(Attachment)).all()
    assert not stored_files()


# --- good uploads ------------------------------------------------------------------------------


def test_a_good_upload_is_stored_by_checksum_with_its_size(case_id):
    digest = hashlib.sha256(PDF).hexdigest()
    row = attach(case_id, "license", PDF, "许可证.pdf")
    assert (row.case_id, row.slot, row.filename, row.size, row.sha256, row.content_type) == (
        case_id, "license", "许可证.pdf", len(PDF), digest, "application/pdf")
    assert stored_files() == [files_dir() / digest[:2] / digest]
    assert stored_files()[0].read_bytes() == PDF
    with unit_of_work() as s:
        case = s.get(Case, case_id)
        rows = s.exec(select(Attachment)).all()
        assert row.uploaded_by_id == case.created_by_id
    assert case.state == "draft"
    assert case.data["materials"] == {"license": {"filename": "许可证.pdf", "sha256": digest, "size": len(PDF),
                                                  "content_type": "application/pdf"}}
    assert [(r.slot, r.sha256) for r in rows] == [("license", digest)]
    assert case.data["roster"] == application()["roster"]  # the rest of the application is untouched


@pytest.mark.parametrize("content,content_type", [
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 32, "image/png"),
    (b"\xff\xd8\xff\xe0" + b"\x00" * 32, "image/jpeg"),
    (b"PK\x03\x04" + b"\x00" * 32, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
])
def test_images_and_word_files_are_accepted_by_their_content(case_id, content, content_type):
    row = attach(case_id, "license", content, "许可证.bin")
    assert row.content_type == content_type
    with unit_of_work() as s:
        assert s.get(Case, case_id).data["materials"]["license"]["content_type"] == content_type


def test_uploading_a_slot_again_replaces_that_slot_only(case_id):
    first = attach(case_id, "license", PDF, "old.pdf")
    attach(case_id, "letter_1", PDF, "letter.pdf")
    newer = PDF + b"% revised\n"
    second = attach(case_id, "license", newer, "new.pdf")
    with unit_of_work() as s:
        data = s.get(Case, case_id).data
    assert sorted(data["materials"]) == ["letter_1", "license"]
    assert data["materials"]["license"] == {"filename": "new.pdf", "sha256": second.sha256, "size": len(newer),
                                            "content_type": "application/pdf"}
    assert data["materials"]["letter_1"]["sha256"] == first.sha256
    assert files_dir() / second.sha256[:2] / second.sha256 in stored_files()


def test_the_same_content_in_two_slots_is_stored_once(case_id):
    attach(case_id, "letter_1", PDF, "a.pdf")
    attach(case_id, "letter_2", PDF, "b.pdf")
    assert len(stored_files()) == 1
    with unit_of_work() as s:
        assert len(s.exec(select(Attachment)).all()) == 2


def test_materials_may_be_uploaded_again_when_the_reviewer_asks_for_them(case_id):
    fire(case_id, "submit", APPLICANT)
    fire(case_id, "request_materials", REVIEWER, comment="请补充许可证")
    attach(case_id, "license", PDF, "license.pdf")
    with unit_of_work() as s:
        case = s.get(Case, case_id)
    assert case.state == "materials_requested" and "license" in case.data["materials"]


def test_after_a_refusal_the_slot_keeps_its_earlier_file(case_id):
    good = attach(case_id, "license", PDF, "license.pdf")
    refused_upload(case_id, "license", b"not a pdf", "license.pdf")
    with unit_of_work() as s:
        assert s.get(Case, case_id).data["materials"]["license"]["sha256"] == good.sha256


# --- the command line --------------------------------------------------------------------------


@pytest.fixture
def qcflow(db_url, tmp_path):
    env = {**os.environ, "QCFLOW_DATABASE_URL": db_url, "QCFLOW_DATA_DIR": str(tmp_path / "data"),
           "QCFLOW_SECRET_KEY": "test-secret"}
    env.pop("QCFLOW_SMTP_HOST", None)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "qcflow", *args], capture_output=True, text=True, env=env,
                              cwd=ROOT, timeout=60)

    return run


def test_case_attach_uploads_a_file_and_says_what_it_stored(case_id, qcflow, tmp_path):
    path = tmp_path / "许可证.pdf"
    path.write_bytes(PDF)
    done = qcflow("case", "attach", "application", str(case_id), "license", str(path), "--as", APPLICANT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"已上传：{LICENSE} ← 许可证.pdf（{len(PDF)} 字节）"
    as_json = qcflow("--json", "case", "attach", "application", str(case_id), "letter_1", str(path), "--as", APPLICANT)
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == {"slot": "letter_1", "filename": "许可证.pdf", "size": len(PDF),
                                          "sha256": hashlib.sha256(PDF).hexdigest()}
    with unit_of_work() as s:
        assert sorted(s.get(Case, case_id).data["materials"]) == ["letter_1", "license"]


def test_case_attach_refusals_exit_2_in_chinese_without_a_traceback(case_id, qcflow, tmp_path):
    text = tmp_path / "license.pdf"
    text.write_bytes(b"just some text\n")
    good = tmp_path / "good.pdf"
    good.write_bytes(PDF)
    huge = tmp_path / "huge.pdf"
    with open(huge, "wb") as fh:  # sparse: one byte over the real 20 MB limit
        fh.write(PDF)
        fh.truncate(20 * 1024 * 1024 + 1)
    before = everything(case_id)
    cases = [
        (("license", str(text), APPLICANT), ["操作被拒绝：", f"文件“license.pdf”{TYPE_REFUSED}（Y§9）"]),
        (("license", str(huge), APPLICANT), ["操作被拒绝：", "文件“huge.pdf”超过 20 MB 上限（Y§9）"]),
        (("cv", str(good), APPLICANT), ["没有名为“cv”的材料项"]),
        (("license", str(good), DEPUTY), ["“上传材料”只能由申请人本人进行，秦方舟没有此权限（Y§9）"]),
        (("license", str(tmp_path / "missing.pdf"), APPLICANT), ["无法读取文件"]),
        (("license", str(good), "nobody@example.org"), ["人员名录中没有邮箱为 nobody@example.org 的人员"]),
    ]
    for (slot, path, who), expected in cases:
        result = qcflow("case", "attach", "application", str(case_id), slot, path, "--as", who)
        assert result.returncode == 2, (slot, path, who, result.stdout, result.stderr)
        for words in expected:
            assert words in result.stderr, (words, result.stderr)
        assert "Traceback" not in result.stderr
    missing_case = qcflow("case", "attach", "application", "999", "license", str(good), "--as", APPLICANT)
    assert missing_case.returncode == 2 and "没有编号为 999 的质控中心设置申请" in missing_case.stderr
    wrong_kind = qcflow("case", "attach", "document", str(case_id), "license", str(good), "--as", APPLICANT)
    assert wrong_kind.returncode == 2 and "命令参数有误" in wrong_kind.stderr
    assert everything(case_id) == before

    fire(case_id, "submit", APPLICANT)
    late = qcflow("case", "attach", "application", str(case_id), "license", str(good), "--as", APPLICANT)
    assert late.returncode == 2 and "“上传材料”只能在拟稿、补充材料状态下进行，当前为材料审查" in late.stderr
    as_json = qcflow("--json", "case", "attach", "application", str(case_id), "license", str(good), "--as", APPLICANT)
    assert as_json.returncode == 2 and json.loads(as_json.stdout)["error"] == "refused"
    with unit_of_work() as s:
        assert not s.exec(select(Attachment)).all()
    assert not stored_files()


def _establish(case_id: int) -> None:
    for slot in SLOTS:
        attach(case_id, slot, PDF + slot.encode(), f"{slot}.pdf")
    fire(case_id, "submit", APPLICANT)
    fire(case_id, "accept_materials", REVIEWER, changes={"experts": list(EXPERTS)})
    for expert in EXPERTS:
        fire(case_id, "review", expert, comment="同意设置", changes={"score": "90", "recommendation": "approve"})
    fire(case_id, "approve", REVIEWER)
    with unit_of_work() as s:
        assert s.get(Case, case_id).state == "established"


def test_center_list_and_show_after_establishment(case_id, qcflow):
    from qcflow.core.clock import local_date, utcnow

    before = qcflow("center", "list")
    assert before.returncode == 0 and "RESP" not in before.stdout
    unknown = qcflow("center", "show", "RESP")
    assert unknown.returncode == 2 and "没有代码为“RESP”的质控中心" in unknown.stderr
    assert "Traceback" not in unknown.stderr

    _establish(case_id)
    today = local_date(utcnow())
    try:
        four_years_on = today.replace(year=today.year + 4)
    except ValueError:  # 29 February
        four_years_on = today.replace(year=today.year + 4, day=28)
    start, end = today.isoformat(), four_years_on.isoformat()

    listed = qcflow("center", "list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["CARD", "NURS", "RESP"]
    resp = next(line for line in lines if line.startswith("RESP"))
    assert "在用" in resp and "临床" in resp and "青川市呼吸内科医疗质量控制中心（挂靠：青川市中心医院）" in resp

    shown = qcflow("center", "show", "RESP")
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout.splitlines()
    assert out[0] == "青川市呼吸内科医疗质量控制中心（RESP）  专业：呼吸内科  类别：临床  挂靠：青川市中心医院"
    people = [line.split() for line in out[1:]]
    assert [(p[0], p[1], p[2]) for p in people] == [
        ("主任", "严可钦", "主任医师"), ("副主任", "秦方舟", "主任医师"), ("副主任", "顾长宁", "主任医师"),
        ("秘书", "鲁思远", "副主任医师"), ("成员", "岑若谷", "主任医师"), ("成员", "穆清和", "副主任医师")]
    assert all(f"任期 {start} 至 {end}（第 1 届）" in line for line in out[1:]), out

    as_json = qcflow("--json", "center", "show", "RESP")
    detail = json.loads(as_json.stdout)
    assert (detail["code"], detail["status"], len(detail["people"])) == ("RESP", "active", 6)
    assert {(p["email"], p["role"], p["term_start"], p["term_end"], p["term"]) for p in detail["people"]} == {
        (APPLICANT, "director", start, end, 1), (DEPUTY, "deputy", start, end, 1),
        ("gu.changning@qch1.qingchuan.example", "deputy", start, end, 1),
        ("lu.siyuan@qch2.qingchuan.example", "secretary", start, end, 1),
        ("mu.qinghe@lxh.qingchuan.example", "member", start, end, 1),
        ("cen.ruogu@qch1.qingchuan.example", "member", start, end, 1)}
    rows = json.loads(qcflow("--json", "center", "list").stdout)
    assert {r["code"]: r["status"] for r in rows}["RESP"] == "active"
