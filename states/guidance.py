"""Targeted guidance "with the data" (H3: 带着数据 专项指导): a flagged institution or area gets a task
for the specialty's center, opened by the indicator analysis with the numbers in its content, and
followed to closure. `open → guided → closed`; the numbers are the system's and cannot be edited."""
from __future__ import annotations

from typing import Any, Optional

from states.rules import Actor, CaseView, Reason
from states.workflow import Attempt, DeadlineSpec, Notify, OnEnter, Transition, Workflow

RULE = "H3"
KIND = "guidance"
CENTER_STAFF = ("center_director", "center_deputy", "center_secretary")
COMMISSION = ("commission_reviewer",)
GUIDANCE_WORKING_DAYS = 20  # to record the guidance after the task opens (the ladder reminds and escalates)

STATES = {"open": "待指导", "guided": "已指导，待复查", "closed": "已结案"}
FIELDS = {
    "guidance": "指导记录（时间、方式、参加人员、发现的问题、提出的改进要求）",
    "follow_up": "整改复查情况（复查时间、改进后的数据或措施落实情况）",
}
# The numbers the analysis attached: set on opening, never edited (check_undeclared refuses them).
NUMBER_FIELDS = ("specialty", "year", "indicator", "indicator_name", "unit", "direction", "scope", "subject",
                 "subject_name", "numerator", "denominator", "rate", "against", "benchmark", "gap",
                 "province_mean", "national_mean", "target", "previous_rate", "rank", "message")


def _blank(data: dict[str, Any], key: str) -> bool:
    return not str(data.get(key) or "").strip()


def validate(data: dict[str, Any]) -> list[Reason]:
    return []


def _needs(key: str, message: str):
    def guard(case: CaseView, actor: Actor, attempt: Attempt) -> Optional[Reason]:
        if _blank({**case.data, **attempt.changes}, key):
            return Reason(RULE, message)
        return None
    return guard


def _numbers_fixed(case: CaseView, actor: Actor, attempt: Attempt) -> Optional[Reason]:
    """The numbers are the analysis's: a step may write only the guidance and the follow-up."""
    extra = sorted(str(k) for k in attempt.changes if k not in FIELDS)
    if extra:
        return Reason(RULE, f"专项指导只能填写指导记录和整改复查情况；所附数据由指标分析生成，不能修改（{'、'.join(extra[:10])}）")
    return None


def title_of(data: dict[str, Any]) -> str:
    return f"{data.get('subject_name', '')}{data.get('indicator_name', '')}专项指导（{data.get('year', '')}年）"


T = Transition
WORKFLOW = Workflow(
    kind=KIND,
    label="专项指导",
    states=STATES,
    initial="open",
    final=("closed",),
    final_hint="已结案的专项指导不可更改；如数据再次未达标，下一次分析会另开任务。",
    validate=validate,
    creators=(),
    creator_rule=RULE,
    fields=FIELDS,
    title_of=title_of,
    private=True,  # Y§22: named institutions' figures; mails carry the number only, every opening is audited
    transitions=[
        T("edit", ("open", "guided"), "", "保存记录", CENTER_STAFF, RULE, takes_changes=True, complete=False,
          guards=(_numbers_fixed,)),
        T("record_guidance", ("open",), "guided", "记录指导", CENTER_STAFF, RULE, takes_changes=True,
          guards=(_numbers_fixed, _needs("guidance", "须填写指导记录：何时、以何种方式指导、发现的问题和改进要求"),)),
        T("close", ("guided",), "closed", "复查结案", CENTER_STAFF + COMMISSION, RULE, takes_changes=True,
          guards=(_numbers_fixed, _needs("follow_up", "结案前须填写整改复查情况：复查时间、改进后的数据或措施落实情况"),)),
        T("reopen", ("guided",), "open", "退回重新指导", COMMISSION, RULE,
          comment_required="退回重新指导须说明原因"),
    ],
    on_enter={
        "open": OnEnter(notify=(Notify("guidance_opened", "center:center_director,center_secretary", "act"),)),
        "closed": OnEnter(notify=(Notify("guidance_closed", "role:commission_reviewer", "read"),)),
    },
    deadlines=(
        DeadlineSpec("guidance", "专项指导", ("open",), assignee="center:center_director,center_secretary",
                     escalate_to="role:commission_reviewer", rule=RULE, ladder="periodic_report",
                     working_days=GUIDANCE_WORKING_DAYS),
    ),
)
