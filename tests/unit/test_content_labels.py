"""What a case page's history says a step changed: every content key a step of a kind added today may
carry has a Chinese name (the workflow's field or input label, or the system content's), never
"其他内容" and never the key itself."""
from __future__ import annotations

import pytest

from qcflow.services.case_page import content_label
from states.registry import WORKFLOWS

OLD_KINDS = ("document", "report", "application", "death_review")
NEW_KINDS = sorted(set(WORKFLOWS) - set(OLD_KINDS))
# Content the services write with a system step (qcflow/services/assessment.py, annual_report.py).
SYSTEM_CONTENT = {"assessment": ("evidence", "evidence_at", "funding"), "annual_report": ("analysis",)}


def content_keys(kind: str) -> set[str]:
    """Every top-level key a step's changes may carry: its inputs, or the kind's fields when it declares none."""
    workflow = WORKFLOWS[kind]
    keys = set(SYSTEM_CONTENT.get(kind, ()))
    for t in workflow.transitions.values():
        if t.takes_changes:
            keys |= {i.name.split(".")[0] for i in t.inputs} if t.inputs else set(workflow.fields)
    return keys


def test_the_new_kinds_are_the_ones_added_today():
    assert len(NEW_KINDS) == 13 and "improvement_plan" in NEW_KINDS and "inspection_rectification" in NEW_KINDS


@pytest.mark.parametrize("kind", NEW_KINDS)
def test_every_content_key_of_a_step_has_its_chinese_name(kind):
    workflow = WORKFLOWS[kind]
    keys = content_keys(kind)
    assert keys or kind in ("removal", "term"), kind  # these two take content only when they are created
    labels = {key: content_label(workflow, key) for key in keys}
    assert {k: v for k, v in labels.items() if v == "其他内容" or v == k or not v} == {}
    assert all(not any(c.isascii() and c.isalpha() for c in label) for label in labels.values()), labels


def test_input_labels_drop_the_forms_typing_hints():
    assert content_label(WORKFLOWS["improvement_plan"], "goals") == "改进目标"  # "改进目标，每行一项"
    assert content_label(WORKFLOWS["inspection"], "start_on") == "开始日期"  # "开始日期 YYYY-MM-DD"
    assert content_label(WORKFLOWS["inspection"], "institutions") == "受检机构"  # "受检机构代码（每行一个）"
    assert content_label(WORKFLOWS["assessment"], "experts") == "评分专家"  # "评分专家邮箱（…）"
    # A parenthesis inside the name is part of it.
    assert content_label(WORKFLOWS["vacancy"], "department_head") == "担任科室（部门）主任或以上职务"


def test_an_old_kinds_labels_stay_as_they_were():
    assert content_label(WORKFLOWS["application"], "experts") == "评审专家"
    assert content_label(WORKFLOWS["death_review"], "reviewers") == "评审人"
    assert content_label(WORKFLOWS["document"], "nonsense_key") == "其他内容"
