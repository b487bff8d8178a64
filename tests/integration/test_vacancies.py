"""Vacancies (Y§26(三)): a director who cannot serve is recorded as a vacancy (removing a director is
otherwise refused by Y§10), the host re-nominates within 1 month, the nominee is judged by Y§11 on the
appointment day; no nomination in the month, or an unfit nominee, goes back to the commission."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import re

import httpx
import pytest
from sqlmodel import select

from qcflow import engine as qc
from qcflow.core.clock import utcnow
from qcflow.store.db import unit_of_work
from states.rules import Refused
from tests.e2e.formpost import post
from tests.helpers import DIRECTOR, REVIEWER, SECTION_HEAD
from tests.integration.governance_support import (HOST1_LEADER, HOST2_LEADER, NOMINEE, OLD_NOMINEE,  # noqa: F401
                                                  deliver, directory_file, load, site, smtp)
from tests.smtp import link_in

SHANGHAI = ZoneInfo("Asia/Shanghai")
VACANCY = {"center": "CARD", "email": DIRECTOR, "post": "director", "reason": "因病长期休养，不能继续履职",
           "since": "2026-11-24"}


@pytest.fixture
def directory(engine, tmp_path):
    load(directory_file(tmp_path))


def _people() -> dict[str, dict]:
    from qcflow.services.registry import center_detail

    with unit_of_work() as session:
        return {p["email"]: p for p in center_detail(session, "CARD")["people"]}


def _roles(email: str) -> set[str]:
    from models import Person, RoleAssignment

    with unit_of_work() as session:
        person = session.exec(select(Person).where(Person.email == email)).one()
        return {r.role for r in session.exec(select(RoleAssignment).where(RoleAssignment.person_id == person.id))}


def _record() -> int:
    with unit_of_work() as session:
        return qc.create_case(session, "vacancy", REVIEWER, dict(VACANCY)).id


def _state(case_id: int) -> str:
    from models import Case

    with unit_of_work() as session:
        return session.get(Case, case_id).state


def test_removing_the_director_is_refused_by_y10_but_a_vacancy_is_recorded(directory):
    from qcflow.services.registry import change_roster

    with unit_of_work() as session, pytest.raises(Refused, match="Y§10"):
        change_roster(session, "CARD", REVIEWER, {"remove": [DIRECTOR], "reason": "因病"}, utcnow())
    case_id = _record()
    assert _state(case_id) == "open" and DIRECTOR not in _people()
    assert "center_director" not in _roles(DIRECTOR)
    with unit_of_work() as session:
        from models import Case

        case = session.get(Case, case_id)
        assert case.data["due_date"] == "2026-12-24" and case.title == "主任空缺（原任 陆一鸣）"


def test_only_the_commission_records_a_vacancy_and_only_of_someone_in_the_post(directory):
    with unit_of_work() as session, pytest.raises(Refused, match="Y§26"):
        qc.create_case(session, "vacancy", HOST1_LEADER, dict(VACANCY))
    with unit_of_work() as session, pytest.raises(Refused, match="目前不是该中心的副主任"):
        qc.create_case(session, "vacancy", REVIEWER, {**VACANCY, "post": "deputy"})
    assert DIRECTOR in _people()  # nothing was written


def test_filled_within_the_month_the_nominee_is_appointed_for_four_years(directory):
    case_id = _record()
    with unit_of_work() as session, pytest.raises(Refused, match="分管院领导"):
        qc.fire(session, "vacancy", case_id, "nominate", email=HOST2_LEADER, changes={"nominee": NOMINEE})
    with unit_of_work() as session:
        qc.fire(session, "vacancy", case_id, "nominate", email=HOST1_LEADER,
                changes={"nominee": NOMINEE, "department_head": "yes", "provincial_society_member": "yes"})
        qc.fire(session, "vacancy", case_id, "approve", email=REVIEWER)
    assert _state(case_id) == "filled"
    appointed = _people()[NOMINEE]
    assert appointed["role"] == "director" and appointed["term_end"] == "2030-11-24"
    assert "center_director" in _roles(NOMINEE)


def test_a_nominee_over_sixty_on_the_appointment_day_is_refused_by_y11_then_reselection(directory):
    case_id = _record()
    with unit_of_work() as session:
        qc.fire(session, "vacancy", case_id, "nominate", email=HOST1_LEADER,
                changes={"nominee": OLD_NOMINEE, "department_head": "yes", "provincial_society_member": "no"})
    with unit_of_work() as session, pytest.raises(Refused) as refused:
        qc.fire(session, "vacancy", case_id, "approve", email=REVIEWER)
    assert "Y§11" in str(refused.value) and "超过 60 岁" in str(refused.value) and "省医学会" in str(refused.value)
    with unit_of_work() as session:
        qc.fire(session, "vacancy", case_id, "reject", email=REVIEWER, comment="推荐人选年龄超过任职条件")
    assert _state(case_id) == "escalated" and OLD_NOMINEE not in _people()


def test_no_nomination_within_the_month_is_escalated_to_the_commission_through_smtp(directory, smtp, clock):
    from qcflow.services.sweep import sweep

    case_id = _record()
    deliver()
    [opened] = smtp.to(HOST1_LEADER, "主任（副主任）空缺")
    assert "/t/" in link_in(opened) and smtp.to(HOST2_LEADER, "空缺", timeout=0.2) == []
    clock.set(datetime(2026, 12, 18, 9, 0, tzinfo=SHANGHAI))
    with unit_of_work() as session:
        sweep(session)
    deliver()
    assert smtp.to(HOST1_LEADER, "【办理提醒】")  # 5 working days before the due day (states/ladders.py)
    assert _state(case_id) == "open"
    clock.set(datetime(2026, 12, 28, 9, 0, tzinfo=SHANGHAI))
    with unit_of_work() as session:
        report = sweep(session)
    assert case_id in report.overdue and _state(case_id) == "escalated"
    deliver()
    assert smtp.to(REVIEWER, "【重新遴选】") and smtp.to(SECTION_HEAD, "【重新遴选】")
    with unit_of_work() as session, pytest.raises(Refused, match="待重新推荐"):
        qc.fire(session, "vacancy", case_id, "nominate", email=HOST1_LEADER, changes={"nominee": NOMINEE})


def test_the_host_nominates_and_the_commission_approves_from_the_emailed_links_over_http(directory, site):
    base, mailbox = site
    case_id = _record()
    deliver()
    [mail] = mailbox.to(HOST1_LEADER, "主任（副主任）空缺")
    link = link_in(mail)
    assert "宋知远" not in httpx.get(link).text and _state(case_id) == "open"  # opening decides nothing
    done = post(link, data={"decision": "nominate", "nominate.nominee": NOMINEE, "nominate.department_head": "yes",
                            "nominate.provincial_society_member": "yes", "nominate.nomination_note": "心内科主任"})
    assert done.status_code == 200, re.sub(r"<[^>]+>", " ", done.text.split("<main")[-1])[:1500]
    assert _state(case_id) == "nominated"
    deliver()
    [task] = mailbox.to(REVIEWER, "【待审定】")
    approved = post(link_in(task), data={"decision": "approve"})
    assert approved.status_code == 200 and _state(case_id) == "filled"
    assert _people()[NOMINEE]["role"] == "director"


def test_while_the_vacancy_is_open_y10_counts_its_seat_for_other_roster_changes(directory):
    from qcflow.services.registry import change_roster

    _record()
    member = {"email": NOMINEE, "role": "member"}
    with unit_of_work() as session:  # without the seat, Y§10 would refuse: the center has no director now
        change_roster(session, "CARD", REVIEWER, {"add": [member], "reason": "增补成员"}, utcnow())
    assert _people()[NOMINEE]["role"] == "member"
    second = {"email": OLD_NOMINEE, "role": "director", "department_head": True, "provincial_society_member": True}
    with unit_of_work() as session, pytest.raises(Refused, match="主任应为 1 名"):
        change_roster(session, "CARD", REVIEWER, {"add": [second], "reason": "另任主任"}, utcnow())


def test_a_vacancy_from_the_command_line_and_a_nomination_by_someone_else_exits_2(directory, tmp_path):
    import os
    import subprocess
    import sys

    import yaml

    from tests.conftest import ROOT

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "qcflow", *args], cwd=ROOT, env=dict(os.environ),
                              capture_output=True, text=True, timeout=120)

    data = tmp_path / "vacancy.yaml"
    data.write_text(yaml.safe_dump(VACANCY, allow_unicode=True), encoding="utf-8")
    made = run("case", "new", "vacancy", "--as", REVIEWER, "--data", str(data), "--json")
    assert made.returncode == 0, made.stderr
    nomination = tmp_path / "nominee.yaml"
    nomination.write_text(yaml.safe_dump({"nominee": NOMINEE}), encoding="utf-8")
    refused = run("case", "fire", "vacancy", "1", "nominate", "--as", HOST2_LEADER, "--data", str(nomination))
    assert refused.returncode == 2 and "分管院领导" in refused.stderr and "Y§26" in refused.stderr
    assert _state(1) == "open" and DIRECTOR not in _people()
