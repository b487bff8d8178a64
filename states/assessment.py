"""The annual assessment of a center (Y§24, Y-rubric; H7 述职评价 for a provincial commission).

open → self_assessed → scored → moderated → published → (appealed → re_moderated → published)

The center self-assesses; experts of the committee score every item of the year's rubric (a reason
for every deduction, never above the item's maximum; nobody scores a center hosted by their own
institution); the commission moderates (bonuses, veto) and publishes; the center may appeal once,
within the appeal window. The case carries the rubric it is judged by (`rubric`), so a later
correction of the file never changes a running or published assessment.
"""
from __future__ import annotations

from typing import Any, Optional

from states import rubric as R
from states.policy import Limit
from states.rules import Actor, CaseView, Reason
from states.workflow import Attempt, DeadlineSpec, Input, Notify, OnEnter, Transition, Workflow, needs_input

RULE = "Y§24"
CONFLICT_RULE = "Y§24"  # the assessment's own 回避: the seed names no other article for scorers
# Working days each stage gets; the seeds set none, so these are the commission's policy.
SELF_ASSESS_WORKING_DAYS = Limit(10, RULE)
SCORING_WORKING_DAYS = Limit(10, RULE)
MODERATION_WORKING_DAYS = Limit(5, RULE)
APPEAL_WORKING_DAYS = Limit(5, RULE)  # no appeal period in Y§24: 5 working days after publication
SCORERS_PER_CENTER = Limit(2, RULE)

SUBMITTERS = ("center_director", "center_secretary")
COMMISSION = ("commission_reviewer",)

STATES = {
    "open": "待自评",
    "self_assessed": "专家评分",
    "scored": "待审定",
    "moderated": "待发布",
    "published": "已发布",
    "appealed": "申诉复核中",
    "re_moderated": "复核已审定",
}


def rubric_of(data: dict[str, Any]) -> R.Rubric:
    parsed, faults = R.parse(data.get("rubric") or {})
    if parsed is None:  # stored only after `parse` accepted it: a broken one is a bug, not input
        raise ValueError("; ".join(str(f) for f in faults))
    return parsed


def validate(data: dict[str, Any]) -> list[Reason]:
    return []


def scorer_conflicts(host: str, host_name: str, experts: list[str], pool: dict[str, dict[str, Any]]) -> list[Reason]:
    """Y§24 回避 and Y§7: every scorer is on the expert committee and none works at the center's host."""
    reasons = []
    for email in experts:
        expert = pool.get(str(email).strip().lower())
        if expert is None:
            reasons.append(Reason("Y§7", f"{email} 不是专家委员会委员，不能担任考核评分专家"))
        elif host and expert.get("institution") == host:
            reasons.append(Reason(CONFLICT_RULE, f"评分专家 {expert['name']} 来自该中心的挂靠单位（{host_name or host}），"
                                                 f"须回避，不能为本中心评分"))
    return reasons


@needs_input
def _scorers_ok(case: CaseView, actor: Actor, attempt: Attempt) -> list[Reason]:
    experts = attempt.changes.get("experts", [])
    if not isinstance(experts, list) or not experts:
        return [Reason(RULE, "请填写评分专家邮箱（每行一位）")]
    emails = sorted({str(e).strip().lower() for e in experts})
    return scorer_conflicts(case.data.get("host", ""), case.data.get("host_name", ""), emails,
                            case.facts.get("expert_pool", {}))


def _no_scores_yet(case: CaseView, actor: Actor, attempt: Attempt) -> Optional[Reason]:
    if case.data.get("votes"):
        return Reason(RULE, "已有专家提交评分，不能再调整评分专家")
    return None


def assign_scorers(data: dict[str, Any], changes: dict[str, Any], actor: Actor) -> dict[str, Any]:
    experts = changes.get("experts")
    emails = sorted({str(e).strip().lower() for e in experts}) if isinstance(experts, list) else experts
    return {**data, "experts": emails}


@needs_input
def _self_assessment_complete(case: CaseView, actor: Actor, attempt: Attempt) -> list[Reason]:
    reasons = []
    if not str(attempt.changes.get("self_summary") or "").strip():
        reasons.append(Reason(RULE, "自评报告不能为空：请写明本年度工作完成情况"))
    _, _, faults = R.sheet(rubric_of(case.data), attempt.changes.get("self_scores"), "自评", need_reasons=False)
    return reasons + faults


def _assigned_and_pending(case: CaseView, actor: Actor, attempt: Attempt) -> list[Reason]:
    pool = case.facts.get("expert_pool", {})
    mine = next((e for e in case.data.get("experts", []) if pool.get(e, {}).get("person_id") == actor.person_id), None)
    if mine is None:
        return [Reason(RULE, f"{actor.name} 不是本中心考核指定的评分专家")]
    if str(actor.person_id) in case.data.get("votes", {}):
        return [Reason(RULE, f"{actor.name} 已提交过评分，不能重复提交")]
    return scorer_conflicts(case.data.get("host", ""), case.data.get("host_name", ""), [mine], pool)


@needs_input
def _sheet_valid(case: CaseView, actor: Actor, attempt: Attempt) -> list[Reason]:
    return R.sheet(rubric_of(case.data), attempt.changes.get("scores"), "评分")[2]


def record_scores(data: dict[str, Any], changes: dict[str, Any], actor: Actor) -> dict[str, Any]:
    scores, reasons, _ = R.sheet(rubric_of(data), changes.get("scores"), "评分")
    votes = dict(data.get("votes", {}))
    votes[str(actor.person_id)] = {"name": actor.name, "scores": scores, "reasons": reasons}
    return {**data, "votes": votes}


def scoring_done(votes: dict[str, Any], assigned: int, deadline_passed: bool) -> bool:
    """Every scorer scored; or, once the scoring deadline passed, a majority of them."""
    return assigned > 0 and (len(votes) >= assigned or (deadline_passed and len(votes) * 2 > assigned))


def _scoring_complete(case: CaseView, actor: Actor, attempt: Attempt) -> Optional[Reason]:
    votes, assigned = case.data.get("votes", {}), len(case.data.get("experts", []))
    if scoring_done(votes, assigned, case.facts.get("scoring_deadline_passed", False)):
        return None
    return Reason(RULE, f"专家评分尚未完成：已评分 {len(votes)}/{assigned} 位")


MODERATION_INPUTS = (
    Input("provincial_rank", "省级质控中心年度督导结果（加分项 2）", "choice", tuple(R.RANKS.items())),
    Input("veto", "一票否决项代码（无则留空，如 V1、V2）"),
    Input("veto_ground", "一票否决的事实依据（有否决项时必填）"),
    Input("adjustments", "调整专家评分（可不填；每行：项目代码 | 审定得分 | 调整理由）", "table",
          (("item", "项目代码"), ("score", "审定得分"), ("reason", "调整理由"))),
)


@needs_input
def _moderation_valid(case: CaseView, actor: Actor, attempt: Attempt) -> list[Reason]:
    rubric = rubric_of(case.data)
    changes = attempt.changes
    reasons = []
    if str(changes.get("provincial_rank") or "") not in R.RANKS:
        reasons.append(Reason(rubric.ranking.article, f"省级排名应为以下之一：{'、'.join(v for v in R.RANKS.values())}"))
    veto = str(changes.get("veto") or "").strip()
    codes = [v.code for v in rubric.vetoes]
    if veto and veto not in codes:
        reasons.append(Reason(RULE, f"一票否决项“{veto}”不在 {rubric.year} 年考核细则中（可用：{'、'.join(codes)}）"))
    if veto and not str(changes.get("veto_ground") or "").strip():
        reasons.append(Reason(RULE, "认定一票否决须写明事实依据（veto_ground）"))
    rows = changes.get("adjustments") or []
    _, _, faults = R.sheet(rubric, rows, "审定调整", complete=False, need_reasons=False)
    reasons += faults
    if isinstance(rows, list):
        reasons += [Reason(RULE, f"审定调整项目 {row.get('item')} 须写明调整理由") for row in rows
                    if isinstance(row, dict) and not str(row.get("reason") or "").strip()]
    return reasons


def moderated_result(data: dict[str, Any]) -> R.Outcome:
    """The grade as the moderator's choices and the scorers' sheets make it (pure; also shown before publishing)."""
    rubric = rubric_of(data)
    items = R.combine([v.get("scores", {}) for v in data.get("votes", {}).values()], rubric)
    adjusted, _, _ = R.sheet(rubric, data.get("adjustments") or [], "审定调整", complete=False, need_reasons=False)
    items.update(adjusted)
    funding = data.get("funding") or {}
    return R.outcome(rubric, items, R.funding_bonus(rubric, R.number(funding.get("amount")), funding.get("proof", "")),
                     R.ranking_bonus(rubric, str(data.get("provincial_rank") or "")),
                     str(data.get("veto") or "").strip(), str(data.get("veto_ground") or "").strip())


def moderate(data: dict[str, Any], changes: dict[str, Any], actor: Actor) -> dict[str, Any]:
    merged = {**data, "adjustments": [], "veto": "", "veto_ground": "", "provincial_rank": "", **changes}
    return {**merged, "result": moderated_result(merged).as_data()}


def _within_appeal_window(case: CaseView, actor: Actor, attempt: Attempt) -> list[Reason]:
    if any(e.trigger == "appeal" for e in case.history):
        return [Reason(RULE, "考核结果只能申诉一次；本次考核已申诉并复核")]
    until = case.facts.get("appeal_until")
    today = case.facts.get("today")
    if until is not None and today is not None and today > until:
        return [Reason(APPEAL_WORKING_DAYS.rule, f"申诉须在考核结果发布后 {APPEAL_WORKING_DAYS.value} 个工作日内提出"
                                                  f"（截至 {until.isoformat()}），现已超过期限")]
    return []


T = Transition
WORKFLOW = Workflow(
    kind="assessment",
    label="年度考核",
    states=STATES,
    initial="open",
    final=(),
    final_hint="考核结果已发布。",
    validate=validate,
    creators=(),
    creator_rule=RULE,
    fields={},
    title_of=lambda data: "",
    transitions=[
        T("assign_scorers", ("open", "self_assessed"), "", "指定评分专家", COMMISSION, RULE, takes_changes=True,
          apply=assign_scorers, guards=(_no_scores_yet, _scorers_ok),
          inputs=(Input("experts", "评分专家邮箱（每行一位；挂靠单位的专家须回避）", "lines"),)),
        T("self_assess", ("open",), "self_assessed", "提交自评", SUBMITTERS, RULE, takes_changes=True,
          guards=(_self_assessment_complete,),
          inputs=(Input("self_summary", "自评报告（本年度工作完成情况）"),
                  Input("self_scores", "自评得分（每行：项目代码 | 自评得分 | 说明）", "table",
                        (("item", "项目代码"), ("score", "自评得分"), ("reason", "说明"))))),
        T("score", ("self_assessed",), "", "提交评分", ("expert",), RULE, takes_changes=True, apply=record_scores,
          guards=(_assigned_and_pending, _sheet_valid), then="close_scoring",
          inputs=(Input("scores", "逐项评分（每行：项目代码 | 得分 | 扣分理由；扣分必须写理由）", "table",
                        (("item", "项目代码"), ("score", "得分"), ("reason", "扣分理由"))),)),
        T("close_scoring", ("self_assessed",), "scored", "专家评分结束", (), RULE, system=True,
          guards=(_scoring_complete,)),
        T("refresh_evidence", ("open", "self_assessed", "scored"), "", "更新考核佐证", (), RULE, system=True,
          takes_changes=True),
        T("moderate", ("scored",), "moderated", "审定考核结果", COMMISSION, RULE, takes_changes=True, apply=moderate,
          guards=(_moderation_valid,), inputs=MODERATION_INPUTS),
        T("publish", ("moderated", "re_moderated"), "published", "发布考核结果", COMMISSION, RULE),
        T("appeal", ("published",), "appealed", "提出申诉", SUBMITTERS, RULE,
          comment_required="申诉须写明理由和事实依据", guards=(_within_appeal_window,)),
        T("re_moderate", ("appealed",), "re_moderated", "复核审定", COMMISSION, RULE, takes_changes=True,
          apply=moderate, comment_required="复核须写明对申诉的答复", guards=(_moderation_valid,),
          inputs=MODERATION_INPUTS),
    ],
    on_enter={
        "open": OnEnter(notify=(Notify("assessment_self", "center:center_director,center_secretary", "act"),
                                Notify("assessment_assigned", "pending_experts", "read"))),
        "self_assessed": OnEnter(notify=(Notify("assessment_score", "pending_experts", "act"),)),
        "scored": OnEnter(notify=(Notify("assessment_moderate", "role:commission_reviewer", "act"),)),
        "moderated": OnEnter(notify=(Notify("assessment_publish", "role:commission_reviewer", "act",
                                            exclude="actor_of:moderate"),)),
        "re_moderated": OnEnter(notify=(Notify("assessment_publish", "role:commission_reviewer", "act",
                                               exclude="actor_of:re_moderate"),)),
        "published": OnEnter(effect="assessment_published",
                             notify=(Notify("assessment_published", "center:center_director,center_secretary", "act"),)),
        "appealed": OnEnter(notify=(Notify("assessment_appeal", "role:commission_reviewer", "act"),)),
    },
    deadlines=(
        DeadlineSpec("self_assessment", "中心自评", ("open",), assignee="center:center_director,center_secretary",
                     escalate_to="role:commission_reviewer", rule=RULE, ladder="assessment",
                     working_days=SELF_ASSESS_WORKING_DAYS.value),
        DeadlineSpec("scoring", "专家评分", ("self_assessed",), assignee="pending_experts",
                     escalate_to="role:commission_reviewer", rule=RULE, ladder="assessment",
                     working_days=SCORING_WORKING_DAYS.value, on_overdue="close_scoring"),
        DeadlineSpec("moderation", "审定并发布", ("scored", "moderated"), assignee="role:commission_reviewer",
                     escalate_to="role:section_head", rule=RULE, ladder="assessment",
                     working_days=MODERATION_WORKING_DAYS.value),
        DeadlineSpec("appeal_review", "申诉复核", ("appealed", "re_moderated"), assignee="role:commission_reviewer",
                     escalate_to="role:section_head", rule=RULE, ladder="assessment",
                     working_days=MODERATION_WORKING_DAYS.value),
    ),
)
