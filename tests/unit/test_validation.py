"""Content checked against the workflows' declared fields before any rule sees it (states/validation.py)."""
from __future__ import annotations

import pytest

from states.death_review import WORKFLOW as DEATH
from states.document import WORKFLOW as DOCUMENT
from states.validation import MAX_INT, check_content, check_roster_change, check_undeclared, fields_for


def faults(workflow, trigger, changes) -> str:
    transition = workflow.transitions.get(trigger) if trigger else None
    found = check_content(changes, fields_for(workflow, transition), transition.rule if transition else "Y§18")
    if transition is not None and not found:
        found = check_undeclared(changes, transition)
    return "；".join(str(r) for r in found)


@pytest.mark.parametrize("changes, expected", [
    ({"doc_kind": ["x"]}, "“公文种类”（doc_kind）应为以下之一"),
    ({"title": {"a": 1}}, "“标题”（title）应为文字"),
    ({"recipients": "医务科"}, "“收件人”（recipients）应为列表"),
    ({"recipients": ["医务科"]}, "第 1 项应为键值映射"),
    ({"body": float("nan")}, "无效或超出范围"),
    ({"body": 2**31}, "超出范围"),
    ({"body": 2**5000}, "位二进制的整数"),
    ({"body": "a\x00b"}, "空字符"),
    ({1: "x"}, "键须是非空文字"),
])
def test_a_document_edit_of_the_wrong_kind_is_refused_naming_field_and_rule(changes, expected):
    found = faults(DOCUMENT, "edit", changes)
    assert expected in found and "（Y§18）" in found


def test_good_document_content_passes():
    assert faults(DOCUMENT, "edit", {"title": "通知", "body": 14, "doc_kind": "other",
                                     "recipients": [{"name": "甲", "email": "a@b.example"}]}) == ""


@pytest.mark.parametrize("changes, expected", [
    ({"discussion": {"date": "2026-02-30"}}, "“讨论日期”（discussion.date）“2026-02-30”不是存在的日期"),
    ({"discussion": {"date": "9999-12-31"}}, "超出合理范围"),
    ({"discussion": {"date": ["2026-11-10"]}}, "应为日期"),
    ({"discussion": "讨论过了"}, "“discussion”应为键值映射"),
    ({"discussion": {"place": "示教室"}, "reviewers": ["me@x.example"]}, "不接受：reviewers"),
])
def test_a_discussion_record_is_checked_before_the_guards(changes, expected):
    found = faults(DEATH, "record_discussion", changes)
    assert expected in found and "国卫医发〔2018〕8号" in found


@pytest.mark.parametrize("changes, expected", [
    ({"action": "1.5", "evidence": "x"}, "应为整数"), ({"action": 0, "evidence": "x"}, "超出范围（1–10000）"),
    ({"action": None, "evidence": "x"}, "不能为空值"), ({"action": 1, "evidence": ["x"]}, "应为文字"),
])
def test_numbers_are_whole_and_in_range(changes, expected):
    assert expected in faults(DEATH, "add_evidence", changes)


def test_the_fields_of_every_step_hold_for_a_new_case_too():
    assert "“评审人邮箱（每行一位）”（reviewers）应为列表" in faults(DEATH, "", {"reviewers": 5})
    assert faults(DEATH, "", {"reviewers": ["a@b.example"], "died_on": "2026-11-05"}) == ""
    assert faults(DEATH, "plan_actions", {"actions": [{"description": "x", "due": "2026-13-01"}]}).count("due") == 1


def test_a_roster_change_of_the_wrong_shape_cites_y10():
    assert "“新增人员”（add）应为列表" in str(check_roster_change({"add": 5})[0])
    assert check_roster_change({"add": [{"email": "a@b.example", "role": "member"}], "reason": "调整"}) == []
    assert MAX_INT == 2**31 - 1
