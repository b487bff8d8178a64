"""A directory reload never undoes a decision taken through a case (issue 12): a post ended by a vacancy,
a removal, a handover or a roster change is not re-created from the file, a host the commission changed
is not reset, a renewed term keeps its start; the load report says what it kept and why, with the article."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml
from sqlmodel import select

from models import Case, Center, Institution, Person, RoleAssignment
from models.registry import Appointment
from qcflow import engine as qc
from qcflow.core.clock import utcnow
from qcflow.store.db import unit_of_work
from tests.helpers import DIRECTOR, REVIEWER, SECRETARY, SECTION_HEAD
from tests.integration.governance_support import HOST1_LEADER, HOST2_LEADER, NOMINEE, directory_file

pytestmark = pytest.mark.db
DEPUTY2 = "deputy2@card.qingchuan.example"  # 贺临川, QCH2


@pytest.fixture
def listed(engine, tmp_path) -> Path:
    """The demo directory (with the two hosts' leaders and the nominees), loaded once."""
    path = directory_file(tmp_path)
    reload(path)
    return path


def reload(path: Path):
    from qcflow.services import directory

    with unit_of_work() as session:
        return directory.load_file(session, path)


def card_people() -> dict[str, str]:
    from qcflow.services.registry import center_detail

    with unit_of_work() as session:
        return {p["email"]: p["role"] for p in center_detail(session, "CARD")["people"]}


def roles(email: str) -> set[str]:
    with unit_of_work() as session:
        person = session.exec(select(Person).where(Person.email == email)).one()
        return {r.role for r in session.exec(select(RoleAssignment).where(RoleAssignment.person_id == person.id))}


def appointments() -> list[tuple[str, str, str]]:
    with unit_of_work() as session:
        return [(p.email, a.role, a.ended_reason) for a, p in session.exec(
            select(Appointment, Person).join(Person, Person.id == Appointment.person_id).order_by(Appointment.id))]


def card_host() -> str:
    with unit_of_work() as session:
        card = session.exec(select(Center).where(Center.code == "CARD")).one()
        return session.get(Institution, card.host_institution_id).code


def test_a_reload_with_no_decision_keeps_nothing_and_changes_nothing(listed):
    before = appointments()
    report = reload(listed)
    assert report.kept == [] and not report.changed and appointments() == before


def test_a_post_the_file_itself_dropped_comes_back_when_the_file_lists_it_again(listed, tmp_path):
    # Only a case's decision is kept: the directory's own end of a post is not one.
    data = yaml.safe_load(listed.read_text(encoding="utf-8"))
    without = [p for p in data["people"] if p["email"] != DEPUTY2] + [
        {**next(p for p in data["people"] if p["email"] == DEPUTY2), "roles": []}]
    other = tmp_path / "without_deputy2.yaml"
    # The roster the file lists must still pass Y§10 (2 deputies): list the nominee as the second.
    for p in without:
        if p["email"] == NOMINEE:
            p.update(roles=["center_deputy@CARD"], department_head=True, provincial_society_member=True)
    other.write_text(yaml.safe_dump({**data, "people": without}, allow_unicode=True, sort_keys=False),
                     encoding="utf-8")
    reload(other)
    assert DEPUTY2 not in card_people()
    report = reload(listed)
    assert card_people()[DEPUTY2] == "deputy" and "center_deputy" in roles(DEPUTY2)
    assert report.kept == []


def test_a_vacancy_stands_after_a_reload(listed):
    with unit_of_work() as session:
        vacancy = qc.create_case(session, "vacancy", REVIEWER, {
            "center": "CARD", "email": DIRECTOR, "post": "director", "reason": "因病长期休养，不能继续履职",
            "since": "2026-11-24"}).id
    before = appointments()
    report = reload(listed)
    assert DIRECTOR not in card_people() and "center_director" not in roles(DIRECTOR)
    assert appointments() == before  # nothing re-created, nothing else ended
    assert report.kept == ["陆一鸣 的 CARD 主任职务已于 2026-11-24 终止（因故不能继续履职：因病长期休养，不能继续履职，Y§26），"
                           "名录文件仍列其为主任，未重新任命；如需任命，请通过卫健委的事项办理"]
    with unit_of_work() as session:
        assert session.get(Case, vacancy).state == "open"


def test_a_removal_stands_after_a_reload_and_the_other_posts_are_left_as_the_decision_left_them(listed):
    from qcflow.services import orders

    for grounds in ((4,), (8,)):  # two orders in one year: Y§26 opens the removal case
        with unit_of_work() as session:
            orders.issue(session, "CARD", list(grounds), "2026-12-31", REVIEWER, "按计划补做未完成的工作任务", utcnow())
    with unit_of_work() as session:
        removal = session.exec(select(Case).where(Case.kind == "removal")).one().id
        qc.fire(session, "removal", removal, "decide_remove", email=SECTION_HEAD, comment="主任办公会决定")
    before = appointments()
    report = reload(listed)
    with unit_of_work() as session:
        assert session.exec(select(Center).where(Center.code == "CARD")).one().status == "revoked"
    assert appointments() == before  # the director not re-appointed, the secretary's post not ended by the file
    assert "center_director" not in roles(DIRECTOR) and "center_secretary" in roles(SECRETARY)
    assert report.kept == ["CARD 的挂靠资格已由卫健委撤销（Y§26），名录文件中的状态“active”未采用，其人员职务不从名录恢复"]


def test_a_host_change_and_its_handover_stand_after_a_reload(listed):
    from qcflow.services.handover import change_host

    with unit_of_work() as session:
        case_id = change_host(session, "CARD", REVIEWER, {"new_host": "QCH2", "announced_on": "2026-11-24",
                                                          "basis": "卫健委 2026 年第 12 次主任办公会决定"},
                              utcnow())["case_id"]
    report = reload(listed)
    assert card_host() == "QCH2"
    host_line = f"CARD 的挂靠单位已由卫健委变更为青川市中心医院（Y§27，挂靠单位变更交接事项 #{case_id}），名录文件中的 QCH1 未采用"
    assert report.kept == [host_line]
    items = {"files": "质控档案 36 盒", "systems": "质控信息平台管理员账号", "permissions": "省平台本市管理权限",
             "quality_data": "质控数据库备份"}
    with unit_of_work() as session:
        qc.fire(session, "handover", case_id, "submit_list", email=HOST1_LEADER, changes=items)
        qc.fire(session, "handover", case_id, "confirm_old", email=HOST1_LEADER)
        qc.fire(session, "handover", case_id, "confirm_new", email=HOST2_LEADER)
    assert DIRECTOR not in card_people() and SECRETARY not in card_people()
    before = appointments()
    report = reload(listed)
    assert card_host() == "QCH2" and appointments() == before
    assert DIRECTOR not in card_people() and "center_secretary" not in roles(SECRETARY)
    assert report.kept[0] == host_line
    ended = "挂靠单位变更交接完成（Y§27），原挂靠单位青川市第一人民医院人员离任，Y§27"
    assert report.kept[1:] == [f"陆一鸣 的 CARD 主任职务已于 2026-11-24 终止（{ended}），名录文件仍列其为主任，未重新任命；如需任命，请通过卫健委的事项办理",
                               f"林小禾 的 CARD 秘书职务已于 2026-11-24 终止（{ended}），名录文件仍列其为秘书，未重新任命；如需任命，请通过卫健委的事项办理"]


def test_a_roster_change_stands_after_a_reload(listed):
    from qcflow.services.registry import change_roster

    with unit_of_work() as session:
        change_roster(session, "CARD", REVIEWER, {
            "add": [{"email": NOMINEE, "role": "deputy", "department_head": True, "provincial_society_member": True}],
            "remove": [DEPUTY2], "reason": "本人调离"}, utcnow())
    before = appointments()
    report = reload(listed)
    people = card_people()
    assert DEPUTY2 not in people and people[NOMINEE] == "deputy"  # the file lists neither change
    assert "center_deputy" not in roles(DEPUTY2) and "center_deputy" in roles(NOMINEE)
    assert appointments() == before
    assert report.kept == ["贺临川 的 CARD 副主任职务已于 2026-11-24 终止（移出：本人调离，Y§10），"
                           "名录文件仍列其为副主任，未重新任命；如需任命，请通过卫健委的事项办理"]


def test_a_renewed_term_keeps_its_start_when_the_file_gives_the_old_one(engine, tmp_path):
    from qcflow.services.registry import renew_terms
    from qcflow.services.terms import terms_ending
    from states.staffing import term_end

    path = directory_file(tmp_path, card_term_start="2022-12-01")
    reload(path)
    with unit_of_work() as session:
        card = session.exec(select(Center).where(Center.code == "CARD")).one()
        assert renew_terms(session, card.id, term_end(date(2022, 12, 1)))
    report = reload(path)
    with unit_of_work() as session:
        starts = {r["person"]: r["term_start"] for r in terms_ending(session, date(2026, 11, 24))
                  if r["center"] == "CARD"}
    assert set(starts.values()) == {"2026-12-02"}
    assert "陆一鸣 的 CARD 主任职务已续聘，本届任期自 2026-12-02 起（Y§26），名录文件中的任期起始日未采用" in report.kept


def test_the_command_line_load_says_what_it_kept(listed):
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    with unit_of_work() as session:
        qc.create_case(session, "vacancy", REVIEWER, {"center": "CARD", "email": DIRECTOR, "post": "director",
                                                      "reason": "因病长期休养", "since": "2026-11-24"})
    done = subprocess.run([sys.executable, "-m", "qcflow", "directory", "load", str(listed)], cwd=ROOT,
                          env=dict(os.environ), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "名录无变化" in done.stdout
    assert "保留卫健委决定：陆一鸣 的 CARD 主任职务已于 2026-11-24 终止（因故不能继续履职：因病长期休养，Y§26）" in done.stdout
