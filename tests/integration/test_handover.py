"""Host change and handover (Y§27): the commission's decision opens the handover, due 1 month after the
announcement; the old host lists files, systems, permissions and data, both hosts confirm; an
overdue handover is escalated; when it closes the old host's people lose their center posts and roles."""
from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from qcflow import engine as qc
from qcflow.core.clock import utcnow
from qcflow.store.db import unit_of_work
from states.rules import Refused
from tests.e2e.formpost import post
from tests.helpers import DIRECTOR, REVIEWER, REVIEWER2, SECRETARY
from tests.integration.governance_support import (HOST1_LEADER, HOST2_LEADER, deliver, directory_file,  # noqa: F401
                                                  load, site, smtp)
from tests.smtp import link_in

SHANGHAI = ZoneInfo("Asia/Shanghai")
CHANGE = {"new_host": "QCH2", "announced_on": "2026-11-24", "basis": "卫健委 2026 年第 12 次主任办公会决定"}
ITEMS = {"files": "2019—2026 年质控档案 36 盒，已扫描为电子版（光盘 2 张）", "systems": "心血管质控信息平台管理员账号",
         "permissions": "省质控平台本市管理权限", "quality_data": "2019—2026 年质控数据库备份"}
DEPUTY = "deputy@card.qingchuan.example"  # works at QCH2, the new host


@pytest.fixture
def directory(engine, tmp_path):
    load(directory_file(tmp_path))


def _change(email: str = REVIEWER, **overrides) -> dict:
    from qcflow.services.handover import change_host

    with unit_of_work() as session:
        return change_host(session, "CARD", email, {**CHANGE, **overrides}, utcnow())


def _case(case_id: int):
    from models import Case

    with unit_of_work() as session:
        case = session.get(Case, case_id)
        return case.state, dict(case.data)


def _roles(email: str) -> set[str]:
    from models import Person, RoleAssignment

    with unit_of_work() as session:
        person = session.exec(select(Person).where(Person.email == email)).one()
        return {r.role for r in session.exec(select(RoleAssignment).where(RoleAssignment.person_id == person.id))}


def _host() -> str:
    from qcflow.services.registry import center_detail

    with unit_of_work() as session:
        return center_detail(session, "CARD")["host"]


def test_only_the_commission_changes_the_host_and_bad_input_changes_nothing(directory):
    with pytest.raises(Refused, match="Y§27"):
        _change(DIRECTOR)
    with pytest.raises(Refused, match="new_host"):
        _change(new_host="")
    with pytest.raises(Refused, match="不在名录"):
        _change(new_host="NOPE")
    with pytest.raises(Refused, match="已是"):
        _change(new_host="QCH1")
    with pytest.raises(Refused, match="晚于今天"):
        _change(announced_on="2026-12-01")
    assert _host() == "青川市第一人民医院"


def test_the_host_change_opens_a_handover_due_in_one_month_and_mails_both_hosts(directory, smtp):
    result = _change()
    assert result["due"] == "2026-12-24" and _host() == "青川市中心医院"
    state, data = _case(result["case_id"])
    assert state == "listing" and data["old_host"] == "QCH1"
    with pytest.raises(Refused, match="已是"):  # the same decision again: the host is already the new one
        _change()
    deliver()
    [to_old] = smtp.to(HOST1_LEADER, "【挂靠单位变更交接】")
    assert "1 个月内" in to_old.get_body(preferencelist=("plain",)).get_content() and "/t/" in link_in(to_old)
    assert smtp.to(HOST2_LEADER, "【挂靠单位变更交接】")


def test_both_hosts_confirm_and_the_old_hosts_people_lose_their_posts_and_roles(directory):
    from qcflow.services.registry import center_detail

    case_id = _change()["case_id"]
    with unit_of_work() as session, pytest.raises(Refused, match="质控数据"):
        qc.fire(session, "handover", case_id, "submit_list", email=HOST1_LEADER,
                changes={k: v for k, v in ITEMS.items() if k != "quality_data"})
    with unit_of_work() as session, pytest.raises(Refused, match="原挂靠单位"):
        qc.fire(session, "handover", case_id, "submit_list", email=HOST2_LEADER, changes=ITEMS)
    with unit_of_work() as session:
        qc.fire(session, "handover", case_id, "submit_list", email=HOST1_LEADER, changes=ITEMS)
        qc.fire(session, "handover", case_id, "confirm_old", email=HOST1_LEADER)
    assert _case(case_id)[0] == "confirming" and "center_director" in _roles(DIRECTOR)
    with unit_of_work() as session, pytest.raises(Refused, match="已确认"):
        qc.fire(session, "handover", case_id, "confirm_old", email=HOST1_LEADER)
    with unit_of_work() as session:
        qc.fire(session, "handover", case_id, "confirm_new", email=HOST2_LEADER)
    assert _case(case_id)[0] == "closed"
    assert "center_director" not in _roles(DIRECTOR) and "center_secretary" not in _roles(SECRETARY)
    assert "center_deputy" in _roles(DEPUTY)  # from the new host: stays
    with unit_of_work() as session:
        left = {p["email"] for p in center_detail(session, "CARD")["people"]}
    assert DIRECTOR not in left and DEPUTY in left


def test_the_new_host_sends_a_wrong_list_back_with_a_reason(directory):
    case_id = _change()["case_id"]
    with unit_of_work() as session:
        qc.fire(session, "handover", case_id, "submit_list", email=HOST1_LEADER, changes=ITEMS)
        with pytest.raises(Refused, match="缺少或有误"):
            qc.fire(session, "handover", case_id, "dispute", email=HOST2_LEADER)
        qc.fire(session, "handover", case_id, "dispute", email=HOST2_LEADER, comment="缺少 2025 年纸质档案")
    assert _case(case_id)[0] == "listing"


def test_a_handover_not_done_within_the_month_is_escalated_to_the_commission(directory, smtp, clock):
    from qcflow.services.sweep import sweep

    case_id = _change()["case_id"]
    deliver()
    clock.set(datetime(2026, 12, 24, 9, 0, tzinfo=SHANGHAI))
    with unit_of_work() as session:
        sweep(session)
    deliver()
    assert smtp.to(HOST1_LEADER, "【办理提醒】") and smtp.to(REVIEWER, "【逾期督办】", timeout=0.2) == []
    clock.set(datetime(2026, 12, 28, 9, 0, tzinfo=SHANGHAI))
    with unit_of_work() as session:
        report = sweep(session)
    assert report.escalated
    deliver()
    for reviewer in (REVIEWER, REVIEWER2):
        [mail] = smtp.to(reviewer, "【逾期督办】")
        assert "挂靠单位变更交接" in mail["Subject"]
    assert _case(case_id)[0] == "listing"  # still to be done: escalation does not close it


def test_both_hosts_act_from_their_emailed_links_over_http(directory, site):
    base, mailbox = site
    case_id = _change()["case_id"]
    deliver()
    [opened] = mailbox.to(HOST1_LEADER, "【挂靠单位变更交接】")
    form = {"decision": "submit_list", **{f"submit_list.{k}": v for k, v in ITEMS.items()}}
    done = post(link_in(opened), data=form)
    assert done.status_code == 200, re.sub(r"<[^>]+>", " ", done.text)[-1500:]
    assert _case(case_id)[0] == "confirming"
    deliver()
    [old] = mailbox.to(HOST1_LEADER, "【待确认交接】")
    [new] = mailbox.to(HOST2_LEADER, "【待确认交接】")
    assert post(link_in(old), data={"decision": "confirm_old"}).status_code == 200
    assert post(link_in(new), data={"decision": "confirm_new"}).status_code == 200
    state, data = _case(case_id)
    assert state == "closed" and data["systems"] == ITEMS["systems"]
    assert "center_director" not in _roles(DIRECTOR)


def test_change_host_from_the_command_line_refuses_a_center_staffer_and_opens_the_case_for_the_commission(
        directory, tmp_path):
    import json
    import os
    import subprocess
    import sys

    import yaml

    from tests.conftest import ROOT

    data = tmp_path / "change.yaml"
    data.write_text(yaml.safe_dump(CHANGE, allow_unicode=True), encoding="utf-8")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "qcflow", *args], cwd=ROOT, env=dict(os.environ),
                              capture_output=True, text=True, timeout=120)

    refused = run("center", "change-host", "CARD", "--as", DIRECTOR, "--data", str(data))
    assert refused.returncode == 2 and "Y§27" in refused.stderr and _host() == "青川市第一人民医院"
    done = run("center", "change-host", "CARD", "--as", REVIEWER, "--data", str(data), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["due"] == "2026-12-24" and _case(result["case_id"])[0] == "listing"
