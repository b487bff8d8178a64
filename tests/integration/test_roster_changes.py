"""Roster changes after establishment go through the application's rules (Y§10–§12), all or nothing."""
from __future__ import annotations

import pytest
from sqlmodel import select

from models import RoleAssignment
from models.registry import Appointment
from qcflow.core.clock import utcnow
from qcflow.store.db import unit_of_work
from qcflow.run.demo import walk_applications
from qcflow.services.registry import center_detail, change_roster
from states.rules import Refused

pytestmark = pytest.mark.db
REVIEWER = "reviewer@wjw.qingchuan.example"


@pytest.fixture
def resp(demo):
    walk_applications()  # establishes RESP through the whole application workflow
    return "RESP"


def _change(data: dict, email: str = REVIEWER) -> dict:
    with unit_of_work() as s:
        return change_roster(s, "RESP", email, data, utcnow())


def _people() -> dict[str, str]:
    with unit_of_work() as s:
        return {p["email"]: p["role"] for p in center_detail(s, "RESP")["people"]}


def _rows() -> tuple[int, int]:
    with unit_of_work() as s:
        return len(s.exec(select(Appointment)).all()), len(s.exec(select(RoleAssignment)).all())


def test_removing_the_only_secretary_is_refused_and_nothing_changes(resp):
    before = (_people(), _rows())
    with pytest.raises(Refused) as refused:
        _change({"remove": ["lu.siyuan@qch2.qingchuan.example"], "reason": "调离"})
    assert "秘书应为 1 名，现有 0 名（Y§10）" in str(refused.value)
    assert (_people(), _rows()) == before


def test_a_new_deputy_must_meet_y11_and_the_county_limit(resp):
    with pytest.raises(Refused) as refused:
        _change({"add": [{"email": "qiu.bailu@lxh.qingchuan.example", "role": "deputy", "department_head": True,
                          "provincial_society_member": True}], "reason": "增补副主任"})
    text = str(refused.value)
    assert "超过 60 岁上限（Y§11）" in text and "须为正高级职称（Y§11）" in text
    assert "县级医疗卫生机构 LXH 有 2 名专家" in text and "Y§12" in text


def test_only_the_commission_changes_a_roster_and_a_reason_is_required(resp):
    with pytest.raises(Refused) as refused:
        _change({"remove": ["mu.qinghe@lxh.qingchuan.example"], "reason": "退出"},
                email="yan.keqin@qch2.qingchuan.example")
    assert "Y§4" in str(refused.value)
    with pytest.raises(Refused) as refused:
        _change({"remove": ["mu.qinghe@lxh.qingchuan.example"]})
    assert "须写明原因" in str(refused.value)


def test_an_accepted_change_ends_the_old_post_and_moves_the_center_role(resp):
    result = _change({"remove": ["mu.qinghe@lxh.qingchuan.example"],
                      "change_role": [{"email": "cen.ruogu@qch1.qingchuan.example", "role": "deputy",
                                       "department_head": True, "provincial_society_member": True}],
                      "reason": "本人申请退出；增补副主任"})
    assert result["changed"] == ["岑若谷"]
    people = _people()
    assert "mu.qinghe@lxh.qingchuan.example" not in people
    assert people["cen.ruogu@qch1.qingchuan.example"] == "deputy"
    with unit_of_work() as s:
        ended = s.exec(select(Appointment).where(Appointment.ended_on.is_not(None))).all()
        roles = {r.role for r in s.exec(select(RoleAssignment)).all()}
    assert {a.ended_reason.split("：")[0] for a in ended} == {"移出", "职务调整"}
    assert "center_deputy" in roles and "center_member" not in roles
