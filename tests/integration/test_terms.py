"""Terms (Y§26(一)(二)): directory-loaded people hold 4-year terms; 3 months before a term ends the
commission is told once, with the term's yearly grades; a third consecutive term is refused."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from qcflow import engine as qc
from qcflow.store.db import unit_of_work
from states.rules import Refused
from tests.conftest import ROOT
from tests.helpers import DIRECTOR, REVIEWER, REVIEWER2
from tests.integration.governance_support import directory_file, deliver, load, site, smtp  # noqa: F401
from tests.smtp import link_in

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=9, tzinfo=SHANGHAI)


def _open_notices(now=None) -> list[str]:
    from qcflow.services.terms import open_term_notices

    with unit_of_work() as session:
        return open_term_notices(session, now=now)


def _term_cases():
    from models import Case

    with unit_of_work() as session:
        return [(c.id, c.state, c.title, dict(c.data)) for c in
                session.exec(select(Case).where(Case.kind == "term").order_by(Case.id))]


def test_a_directory_loaded_center_shows_its_peoples_terms_from_the_load_day(engine, tmp_path):
    from qcflow.services.registry import center_detail

    load(directory_file(tmp_path))
    with unit_of_work() as session:
        people = {p["email"]: p for p in center_detail(session, "CARD")["people"]}
    assert set(people) >= {DIRECTOR, "secretary@card.qingchuan.example"}
    assert people[DIRECTOR]["term_start"] == "2026-11-24" and people[DIRECTOR]["term_end"] == "2030-11-24"
    assert people[DIRECTOR]["term"] == 1


def test_the_file_sets_the_term_start_a_reload_changes_nothing_and_an_unlisted_post_ends(engine, tmp_path):
    import yaml

    from models import RoleAssignment
    from models.registry import Appointment
    from qcflow.services.registry import center_detail

    path = directory_file(tmp_path, card_term_start="2023-03-20", director_term=2)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    member = {"email": "member@card.qingchuan.example", "name": "温若溪", "title": "副主任医师",
              "birth_date": "1980-03-03", "institution": "QCH2", "roles": ["center_member@CARD"]}
    path.write_text(yaml.safe_dump({**data, "people": data["people"] + [member]}, allow_unicode=True), encoding="utf-8")
    load(path)
    load(path)
    with unit_of_work() as session:
        assert len(session.exec(select(Appointment)).all()) == 9  # CARD's 5 and NURS's 4, once each
        people = {p["email"]: p for p in center_detail(session, "CARD")["people"]}
    assert people[DIRECTOR]["term_end"] == "2027-03-20" and people[DIRECTOR]["term"] == 2
    assert people[member["email"]]["term_start"] == "2026-11-24"  # no term_start of its own: the load day
    member["roles"] = []  # the next file no longer gives the member a post
    path.write_text(yaml.safe_dump({**data, "people": data["people"] + [member]}, allow_unicode=True), encoding="utf-8")
    load(path)
    with unit_of_work() as session:
        assert member["email"] not in {p["email"] for p in center_detail(session, "CARD")["people"]}
        [ended] = session.exec(select(Appointment).where(Appointment.ended_on.is_not(None))).all()
        assert ended.ended_reason == "名录中不再列为该职务"
        assert session.exec(select(RoleAssignment).where(RoleAssignment.person_id == ended.person_id)).all() == []


def test_the_commission_is_told_three_months_ahead_once_with_the_grades_through_smtp(smtp, tmp_path, clock):
    load(directory_file(tmp_path, card_term_start="2023-03-20"))
    assert _open_notices(_at("2026-12-19")) == []  # term ends 2027-03-20: the notice opens on 2026-12-20
    clock.set(_at("2026-12-21"))
    assert _open_notices() == ["term:CARD:2027-03-20"]
    assert _open_notices() == [] and _open_notices(_at("2027-01-15")) == []  # once per term
    [(case_id, state, title, data)] = _term_cases()
    assert state == "pending" and "2027-03-20" in title
    assert data["grades_text"] == "暂无考核结果"
    assert "主任 陆一鸣：2023-03-20 至 2027-03-20（第 1 届）" in data["people_text"]
    deliver()
    for reviewer in (REVIEWER, REVIEWER2):
        [mail] = smtp.to(reviewer, "聘期届满提示")
        assert "3 个月内届满" in mail.get_body(preferencelist=("plain",)).get_content()
        assert "/t/" in link_in(mail)
    assert smtp.to(DIRECTOR, "聘期届满提示", timeout=0.2) == []


def test_nurs_terms_from_the_load_day_are_not_due_yet(engine, tmp_path):
    load(directory_file(tmp_path, card_term_start="2023-03-20"))
    keys = _open_notices(_at("2026-12-21"))
    assert keys == ["term:CARD:2027-03-20"]  # NURS's people started on the load day: 2030


def test_a_second_term_director_is_reappointed_for_a_new_four_year_term(engine, tmp_path, clock):
    from qcflow.services.registry import center_detail

    load(directory_file(tmp_path, card_term_start="2023-03-20", director_term=1))
    clock.set(_at("2026-12-21"))
    _open_notices()
    [(case_id, *_)] = _term_cases()
    with unit_of_work() as session:
        qc.fire(session, "term", case_id, "reappoint", email=REVIEWER)
    with unit_of_work() as session:
        people = {p["email"]: p for p in center_detail(session, "CARD")["people"]}
    assert people[DIRECTOR]["term_start"] == "2027-03-21" and people[DIRECTOR]["term_end"] == "2031-03-21"
    assert people[DIRECTOR]["term"] == 2
    assert _term_cases()[0][1] == "reappointed"


def test_a_third_consecutive_term_is_refused_with_its_article_and_reselection_is_open(engine, tmp_path, clock):
    load(directory_file(tmp_path, card_term_start="2023-03-20", director_term=2))
    clock.set(_at("2026-12-21"))
    _open_notices()
    [(case_id, *_)] = _term_cases()
    with unit_of_work() as session, pytest.raises(Refused) as refused:
        qc.fire(session, "term", case_id, "reappoint", email=REVIEWER)
    assert "Y§26" in str(refused.value) and "陆一鸣" in str(refused.value) and "第 3 届" in str(refused.value)
    assert _term_cases()[0][1] == "pending"
    with unit_of_work() as session, pytest.raises(Refused, match="写明依据"):
        qc.fire(session, "term", case_id, "reselect", email=REVIEWER)
    with unit_of_work() as session:
        qc.fire(session, "term", case_id, "reselect", email=REVIEWER, comment="已连任两届，按 Y§26 重新遴选")
    assert _term_cases()[0][1] == "reselection"


def _cli(*args: str, env_now: str) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, "QCFLOW_FIXED_NOW": env_now}
    return subprocess.run([sys.executable, "-m", "qcflow", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_center_terms_and_the_refused_third_term_from_the_command_line(engine, tmp_path):
    path = directory_file(tmp_path, card_term_start="2023-03-20", director_term=2)
    now = "2026-12-21T09:00:00+08:00"
    assert _cli("directory", "load", str(path), env_now=now).returncode == 0
    listed = _cli("center", "terms", "--ending-within-days", "100", "--json", env_now=now)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert {r["center"] for r in rows} == {"CARD"} and len(rows) == 4
    assert all(r["term_end"] == "2027-03-20" and r["days_left"] == 89 for r in rows)
    assert _open_notices(_at("2026-12-21")) == ["term:CARD:2027-03-20"]  # what the check-terms flow runs
    text = _cli("center", "terms", "--ending-within-days", "100", env_now=now).stdout
    assert "已提示（聘期届满 #" in text and "陆一鸣" in text
    [(case_id, *_)] = _term_cases()
    refused = _cli("case", "fire", "term", str(case_id), "reappoint", "--as", REVIEWER, env_now=now)
    assert refused.returncode == 2 and "Y§26" in refused.stderr and "连任" in refused.stderr
    bad = _cli("center", "terms", "--ending-within-days", "-3", env_now=now)
    assert bad.returncode == 2 and "无效" in bad.stderr


def test_the_commission_page_shows_the_term_and_the_reviewer_decides_from_the_link_over_http(site, tmp_path, clock):
    import httpx

    from tests.e2e.formpost import post

    base, mailbox = site
    load(directory_file(tmp_path, card_term_start="2023-03-20", director_term=2))
    clock.set(_at("2026-12-21"))
    _open_notices()
    [(case_id, *_)] = _term_cases()
    home = httpx.get(f"{base}/").text
    assert "3 个月内聘期届满" in home and "陆一鸣" in home and "2027-03-20" in home
    deliver()
    [mail] = mailbox.to(REVIEWER, "聘期届满提示")
    link = link_in(mail)
    page = httpx.get(link).text
    assert "重新遴选挂靠单位和主任" in page and "续聘下一届" not in page  # a third term is not offered (Y§26)
    done = post(link, data={"decision": "reselect", "comment": "已连任两届，重新遴选"})
    assert done.status_code == 200 and _term_cases()[0][1] == "reselection"


def test_reappointment_judges_y11_on_the_first_day_of_the_next_term(engine, tmp_path, clock):
    import yaml

    path = directory_file(tmp_path, card_term_start="2023-03-20", director_term=1)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for person in data["people"]:
        if person["email"] == "deputy@card.qingchuan.example":
            person["birth_date"] = "1966-03-25"  # still 60 on 2027-03-21, when the next term starts
        if person["email"] == "deputy2@card.qingchuan.example":
            person["birth_date"] = "1966-03-01"  # 61 on 2027-03-01: over 60 when the next term starts
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    load(path)
    clock.set(_at("2026-12-21"))
    _open_notices()
    [(case_id, *_)] = _term_cases()
    with unit_of_work() as session, pytest.raises(Refused) as refused:
        qc.fire(session, "term", case_id, "reappoint", email=REVIEWER)
    text = str(refused.value)
    assert "贺临川" in text and "2027-03-21" in text and "Y§11" in text and "方建国" not in text


def test_the_notice_carries_the_terms_published_yearly_grades(engine, tmp_path, clock):
    from models import Center
    from models.assessment import AssessmentResult

    load(directory_file(tmp_path, card_term_start="2023-03-20"))
    with unit_of_work() as session:
        card = session.exec(select(Center).where(Center.code == "CARD")).one()
        record = qc.open_case(session, "report", card, "占位报告", {"report_kind": "half_year", "period": "2026H2",
                                                               "due_date": "2026-12-31", "summary": ""}, key="x")
        for year, grade, score in ((2023, "良好", 80.0), (2024, "优秀", 88.5), (2022, "合格", 70.0)):
            session.add(AssessmentResult(center_code="CARD", year=year, score=score, bonus=1.0, grade=grade,
                                         case_id=record.id, published_at=_at("2026-01-10")))
    clock.set(_at("2026-12-21"))
    _open_notices()
    [(_, _, _, data)] = _term_cases()
    assert data["grades_text"] == "2023年：良好（81.0 分）\n2024年：优秀（89.5 分）"  # 2022 is before the term
