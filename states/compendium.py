"""H2: a specialty's must-know compendium (应知应会), versioned.

The center's expert committee compiles a common part (the listed laws, rules and national documents)
and a specialty part (the year's goals and plan, the center's work plan, evaluation rules, NCIS/HNCIS
reporting), each item with its title, source and, where there is one, its file. The commission
approves it; approval publishes it as the next version on the specialty's public page, where it is
downloaded. A published version never changes: a correction is a new version.
"""
from __future__ import annotations

from typing import Any, Optional

from states import policy
from states.rules import Actor, CaseView, Reason
from states.workflow import Attempt, DeadlineSpec, Input, Notify, OnEnter, Transition, Workflow, needs_input

RULE = "H2"
AUTHORS = ("center_director", "center_secretary")
APPROVERS = ("commission_reviewer",)
STATES = {
    "draft": "编写中",
    "submitted": "已报送",
    "returned": "退回修改",
    "approved": "已批准",
    "published": "已发布",
}
PARTS = {"common": "共性内容（法律法规、规章制度、国家文件）", "special": "个性内容（本专业改进目标与方案、工作计划、评价细则、NCIS/HNCIS 填报）"}
ITEM_COLUMNS = (("title", "标题"), ("source", "来源（发文机关、文号或出处）"), ("file", "附件文件名（可空）"))
INPUTS = (
    Input("title", "标题"),
    Input("common", "共性内容，每行一项", "table", ITEM_COLUMNS),
    Input("special", "个性内容，每行一项", "table", ITEM_COLUMNS),
)


def _text(row: Any, key: str) -> str:
    return str(row.get(key) or "").strip() if isinstance(row, dict) else ""


def validate(data: dict[str, Any]) -> list[Reason]:
    faults = [] if str(data.get("title") or "").strip() else [Reason(RULE, "应知应会须有标题，例如《心血管内科专业应知应会（2026 版）》")]
    for part, label in PARTS.items():
        items = data.get(part) if isinstance(data.get(part), list) else []
        short = label.split("（")[0]
        if not items:
            faults.append(Reason(RULE, f"{short}不能为空：{label}"))
        for i, item in enumerate(items, 1):
            missing = [name for key, name in (("title", "标题"), ("source", "来源")) if not _text(item, key)]
            if missing:
                faults.append(Reason(RULE, f"{short}第 {i} 项缺少{'和'.join(missing)}"))
    return faults


def validate_new(data: dict[str, Any]) -> list[Reason]:
    return []


def files_named(data: dict[str, Any]) -> list[str]:
    return sorted({_text(item, "file") for part in PARTS for item in (data.get(part) or []) if _text(item, "file")})


def keep_blank_inputs_out(data: dict[str, Any], changes: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """A form leaves the tables it does not show filled in empty: an empty input changes nothing."""
    return {**data, **{k: v for k, v in changes.items() if v not in ("", [], None)}}


@needs_input  # the page offers the step: the content is typed in with it
def _complete(case: CaseView, actor: Actor, attempt: Attempt) -> Optional[Reason]:
    faults = validate(keep_blank_inputs_out(case.data, attempt.changes, actor))
    if faults and not attempt.changes:
        return Reason(RULE, "应知应会内容不完整，不能报送：" + "；".join(f.message for f in faults))
    return None


def _files_attached(case: CaseView, actor: Actor, attempt: Attempt) -> Optional[Reason]:
    """Every file an item names is uploaded: the public page must not offer a download that is not there."""
    attached = set(case.facts.get("attached_files", ()))
    missing = [name for name in files_named(keep_blank_inputs_out(case.data, attempt.changes, actor)) if name not in attached]
    if missing:
        return Reason(RULE, f"以下附件尚未上传：{'、'.join(missing)}（qcflow compendium attach 编号 文件）")
    return None


T = Transition
WORKFLOW = Workflow(
    kind="compendium",
    label="应知应会",
    states=STATES,
    initial="draft",
    final=("published",),
    final_hint="已发布的版本不可更改；如需更正，请新建下一版。",
    validate=validate,
    validate_new=validate_new,
    creators=AUTHORS,
    creator_rule=RULE,
    fields={},  # the content is entered through the steps' inputs
    transitions=[
        T("edit", ("draft", "returned"), "", "保存草稿", AUTHORS, RULE, takes_changes=True, complete=False, inputs=INPUTS,
          apply=keep_blank_inputs_out),
        T("submit", ("draft", "returned"), "submitted", "报送审核", AUTHORS, RULE, takes_changes=True, inputs=INPUTS,
          apply=keep_blank_inputs_out, guards=(_complete, _files_attached)),
        T("return", ("submitted",), "returned", "退回修改", APPROVERS, RULE,
          comment_required="退回修改须填写意见，告诉中心改什么"),
        T("approve", ("submitted",), "approved", "批准发布", APPROVERS, RULE, guards=(_files_attached,)),
        T("publish", ("approved",), "published", "发布", (), RULE, system=True),
    ],
    on_enter={
        "submitted": OnEnter(notify=(Notify("compendium_submitted", "role:commission_reviewer", "act"),)),
        "returned": OnEnter(notify=(Notify("task_revise", "center:center_director,center_secretary", "act"),)),
        "approved": OnEnter(auto_trigger="publish"),
        "published": OnEnter(effect="publish_compendium",
                             notify=(Notify("compendium_published", "center:center_director,center_secretary", "read"),)),
    },
    deadlines=(
        DeadlineSpec("review", "审核应知应会", ("submitted",), assignee="role:commission_reviewer",
                     escalate_to="role:section_head", rule=RULE, ladder="compendium",
                     working_days=policy.COMPENDIUM_REVIEW_WORKING_DAYS.value),
        DeadlineSpec("revision", "修改后重新报送", ("returned",), assignee="center:center_director,center_secretary",
                     escalate_to="role:commission_reviewer", rule=RULE, ladder="compendium",
                     working_days=policy.COMPENDIUM_REVISION_WORKING_DAYS.value),
    ),
)
