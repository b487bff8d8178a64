"""What a case page shows one person: the case as they may see it, its content with names instead of
codes, the whole history with what changed, the decisions they may take now and why the others are
not open to them. Reads only; the decisions themselves go through the engine."""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Optional

from sqlmodel import Session, select

from models import Institution, LowRiskGroup, Person
from qcflow import engine
from qcflow.services import access
from qcflow.core.clock import fmt_local, local_date, utcnow
from qcflow.store.raw import Raw
from states import privacy
from states.application import RECOMMENDATIONS
from states.death_review import DISCUSSION_FIELDS, FACTOR_CATEGORIES, STRENGTHS
from states.death_intake import FIELD_LABELS as DEATH_FIELDS
from states.document import DOC_KINDS
from states.downloads import may_download
from states.materials import SLOTS
from states.rules import Actor, CaseView, Reason
from states.staffing import GROUP_ROLES, ROLES
from states.textdiff import diff_text
from states.workflow import Attempt, Transition, Workflow

# Steps that are not in a workflow's table: what opened the case and what the sweep records.
EVENT_LABELS = {"create": "新建", "open": "按工作日程开启", "report": "报告病例", "escalate": "逾期督办"}
# Names of content the older kinds leave undeclared, for "what changed" (a workflow's own fields and inputs come first).
CONTENT_LABELS = {
    "title": "标题", "body": "正文", "doc_kind": "公文种类", "recipients": "主送", "summary": "工作总结",
    "plan": "下年度工作计划", "report_kind": "报告类别", "due_date": "截止日期", "center_code": "拟设中心代码",
    "center_name": "拟设中心名称", "specialty": "专业", "category": "类别", "host": "申请单位", "roster": "拟定成员",
    "materials": "申请材料", "experts": "评审专家", "votes": "专家评审意见", "score": "评分", "recommendation": "评审建议",
    "host_reason": "挂靠非三甲综合医院的理由", "size_justification": "成员超过 18 人的理由",
    "center": "负责评审的质控中心", "reviewers": "评审人", "discussion": "死亡病例讨论记录", "factors": "原因分析",
    "actions": "改进措施", "action": "措施序号", "evidence": "落实证据", "autopsy_report_on": "尸检报告日期",
    "rediscussion": "尸检后再次讨论记录", "discussion_due": "讨论期限", "rediscussion_due": "再次讨论期限",
}
REPORT_KINDS = {"half_year": "半年工作总结", "year_end": "年度工作总结及下年度工作计划",
                "indicators": "质控指标、标准及考核方案（Y§21）"}


# Content the system, not a form, writes into a case of these kinds (so no field or input names it).
SYSTEM_CONTENT_LABELS = {
    "assessment": {"evidence": "考核佐证材料", "evidence_at": "佐证材料汇集时间", "funding": "挂靠单位经费投入"},
    "annual_report": {"analysis": "报告数据与分析"},
}
# A form's hint after the name ("，每行一项", "（每行一个）", " YYYY-MM-DD") and what to type ("邮箱", "代码"):
# the history names what changed, not how it was entered.
_FORM_HINT = re.compile(r"(，每行.*|\s*YYYY-MM-DD.*|（[^（）]*）)$")
_ENTERED_AS = re.compile(r"(?<=.)(邮箱|代码)$")


def content_label(workflow: Workflow, key: str) -> str:
    return (_form_labels(workflow).get(key) or SYSTEM_CONTENT_LABELS.get(workflow.kind, {}).get(key)
            or CONTENT_LABELS.get(key) or "其他内容")


@lru_cache(maxsize=None)
def _form_labels(workflow: Workflow) -> dict[str, str]:
    """The workflow's own fields, then its steps' inputs, by content key: named as the form names them,
    less the form's hints."""
    labels = dict(workflow.fields)
    for t in workflow.transitions.values():
        for item in t.inputs:
            if "." not in item.name:
                labels.setdefault(item.name, item.label)
    return {key: _ENTERED_AS.sub("", _FORM_HINT.sub("", label).strip()) or label for key, label in labels.items()}


def case_page(session: Session, kind: str, case_id: int, person_id: Optional[int]) -> dict[str, Any]:
    """Everything the page shows; raises Refused (Y§22) when the person may not open the case. The
    opening of a private case is written to the access log in the caller's transaction."""
    workflow = engine.workflow_for(kind)
    case = engine.load_case(session, kind, case_id)
    detail = access.readable_detail(session, case, person_id, "web")
    actor = access.reader_of(session, person_id).actor
    view = engine.view_of(session, case)
    history, since_mine = _history(session, workflow, case, privacy.shows_history_details(detail["access"]),
                                   person_id)
    choices = workflow.choices(view, actor) if actor is not None else []
    choices = [c for c in choices if c.dest or c.inputs or workflow.fields_for(case.data)]  # uploads: own form
    return {
        "case": detail,
        "access": detail["access"],
        "history": history,
        "since_mine": since_mine,
        "content": _content(session, workflow, case, detail["data"], view, actor),
        "deadlines": _deadlines(session, case.id, workflow),
        "choices": choices,
        "blocked": _blocked(workflow, view, actor, choices),
        "fields": workflow.fields_for(case.data) if any(c.takes_changes for c in choices) else {},
        "actor": actor,
    }


def case_content(session: Session, case: Any, data: dict[str, Any], person_id: Optional[int]) -> dict[str, Any]:
    """The content block of the case page (names, titles, institutions instead of codes) for another page
    that shows the case, e.g. an emailed link's; `data` as the read service gave it to this person."""
    actor = access.reader_of(session, person_id).actor
    return _content(session, engine.workflow_for(case.kind), case, data, engine.view_of(session, case), actor)


def _blocked(workflow: Workflow, view: CaseView, actor: Optional[Actor],
             choices: list[Transition]) -> list[dict[str, Any]]:
    """The steps open in this state that this person cannot take, each with the engine's reasons.

    The reasons are the workflow's own check, less what only the form would supply (a comment, the
    step's inputs): those are asked for on the form, not reasons the step is closed."""
    if actor is None:
        return []
    taken = {c.trigger for c in choices}
    out = []
    for t in workflow.transitions.values():
        if t.system or view.state not in t.sources or t.trigger in taken:
            continue
        attempt = Attempt(t.trigger, comment="（意见）")
        asked_on_form: set[Reason] = set()
        for guard in t.guards:
            if getattr(guard, "needs_input", False):
                try:
                    found = guard(view, actor, Attempt(t.trigger))
                except Exception:  # noqa: BLE001  (an input guard may not cope with no input at all)
                    found = None
                asked_on_form.update(found if isinstance(found, list) else [found] if found else [])
        reasons = [r for r in workflow.check(view, actor, attempt) if r not in asked_on_form]
        if reasons:
            out.append({"label": t.label, "reasons": reasons})
    return out


def _history(session: Session, workflow: Workflow, case: Any, details_shown: bool,
             person_id: Optional[int] = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every step, newest last, with what it changed and, for text, the difference it made; and
    what changed in the text since this person's own latest step."""
    raw = Raw(session)
    rows = raw.rows('SELECT e."trigger", e.from_state, e.to_state, e.actor_id, e.comment, e.at, e.details, p.name, '
                    "p.title FROM caseevent e LEFT JOIN person p ON p.id = e.actor_id WHERE e.case_id = ? ORDER BY e.id",
                    [case.id])
    labels = {**EVENT_LABELS, **{t.trigger: t.label for t in workflow.transitions.values()}}
    events = []
    for trigger, from_state, to_state, actor_id, comment, at, details, name, title in rows:
        details = Raw.read_js(details) if isinstance(details, str) else (details or {})
        events.append({
            # Who did a step belongs to the review: a reporting hospital sees only that it happened (Y§22).
            "at": fmt_local(Raw.read_ts(at)),
            "actor": ((name or "（已不在名录）") if actor_id else "系统") if details_shown else "",
            "actor_title": (title or "") if details_shown else "", "action": labels.get(trigger, "其他操作"),
            "from": workflow.state_label(from_state) if from_state else "",
            "to": workflow.state_label(to_state), "moved": bool(from_state) and from_state != to_state,
            "comment": comment if details_shown else "",
            "changed": [content_label(workflow, k) for k in details.get("changed", [])] if details_shown else [],
            "before": details.get("before") or {}, "diffs": [], "actor_id": actor_id,
        })
    since: list[dict[str, Any]] = []
    if details_shown:
        _diffs(workflow, case.data, events)
        latest = next((e for e in reversed(events) if e["diffs"]), None)
        if latest is not None:
            latest["latest_diff"] = True  # the page opens the newest change
        since = _since_own_step(workflow, case.data, events, person_id)
    for e in events:
        for scratch in ("before", "actor_id", "text_after"):
            e.pop(scratch, None)
    return events, since


def _since_own_step(workflow: Workflow, now: dict[str, Any], events: list[dict[str, Any]],
                    person_id: Optional[int]) -> list[dict[str, Any]]:
    """"What changed since your last review": the text as this person last left it, against now."""
    if person_id is None:
        return []
    mine = [i for i, e in enumerate(events) if e["actor_id"] == person_id]
    if not mine:
        return []
    then = events[mine[-1]]["text_after"]
    changed = {k for e in events[mine[-1] + 1:] for k in e["before"]}
    return [{"label": content_label(workflow, k), "diff": diff_text(then.get(k, ""), now.get(k) or "")}
            for k in sorted(changed) if (then.get(k, "") != (now.get(k) or ""))]


def _diffs(workflow: Workflow, now: dict[str, Any], events: list[dict[str, Any]]) -> None:
    """Walk back from the current content: each event that kept a field's old text gets its diff."""
    current = {k: v for k, v in now.items() if isinstance(v, str)}
    for event in reversed(events):
        event["text_after"] = dict(current)
        for key, old in event["before"].items():
            new = current.get(key, "")
            old = old if isinstance(old, str) else ""
            if old != new:
                event["diffs"].insert(0, {"label": content_label(workflow, key), "diff": diff_text(old, new)})
            current[key] = old


def _deadlines(session: Session, case_id: int, workflow: Workflow) -> list[dict[str, Any]]:
    today = local_date(utcnow())
    rows = Raw(session).rows("SELECT step, due_at, closed_at, escalated_at FROM deadline WHERE case_id = ? ORDER BY id",
                             [case_id])
    out = []
    for step, due_at, closed_at, escalated_at in rows:
        spec = next((s for s in workflow.deadlines if s.step == step), None)
        due = local_date(Raw.read_ts(due_at))
        days = (due - today).days
        if closed_at is not None:
            status = "已完成"
        else:
            status = f"逾期 {-days} 天" if days < 0 else ("今天到期" if days == 0 else f"还剩 {days} 天")
        out.append({"label": spec.label if spec else "办理期限", "rule": spec.rule if spec else "",
                    "due": due.isoformat(), "open": closed_at is None, "late": closed_at is None and days < 0,
                    "status": status, "escalated": escalated_at is not None})
    return out


def _content(session: Session, workflow: Workflow, case: Any, data: dict[str, Any], view: CaseView,
             actor: Optional[Actor]) -> dict[str, Any]:
    if case.kind == "document":
        return {"doc_kind": DOC_KINDS.get(data.get("doc_kind"), "其他"),
                "recipients": [r.get("name") or r.get("email", "") for r in data.get("recipients", [])
                               if isinstance(r, dict)],
                "body": data.get("body", "")}
    if case.kind == "report":
        return {"report_kind": REPORT_KINDS.get(data.get("report_kind"), "工作报告"), "due_date": data.get("due_date", ""),
                "texts": [(label, data.get(key) or "") for key, label in workflow.fields_for(data).items()]}
    if case.kind == "application":
        return _application(session, case, data, view, actor)
    if case.kind == "death_review":
        return _death_review(session, data)
    # Any other kind: its declared text fields (e.g. an order's notice and response, Y§25).
    return {"texts": [(label, data.get(key) or "") for key, label in workflow.fields_for(data).items()]}


def _people_by_email(session: Session, emails: list[str]) -> dict[str, dict[str, str]]:
    emails = [str(e).strip().lower() for e in emails if e]
    if not emails:
        return {}
    institutions = {i.id: i.name for i in session.exec(select(Institution)).all()}
    return {p.email: {"name": p.name, "title": p.title or "", "institution": institutions.get(p.institution_id, "")}
            for p in session.exec(select(Person).where(Person.email.in_(emails))).all()}


def _application(session: Session, case: Any, data: dict[str, Any], view: CaseView,
                 actor: Optional[Actor]) -> dict[str, Any]:
    roster = [e for e in data.get("roster", []) if isinstance(e, dict)]
    experts = [str(e) for e in data.get("experts", [])]
    people = _people_by_email(session, [e.get("email", "") for e in roster] + experts)
    host = session.exec(select(Institution).where(Institution.code == str(data.get("host") or ""))).first()
    unknown = {"name": "（不在人员名录中）", "title": "", "institution": ""}
    members = [{**people.get(str(e.get("email", "")).lower(), unknown), "role": ROLES.get(e.get("role"), "其他"),
                "group": e.get("group") or "", "group_role": GROUP_ROLES.get(e.get("group_role") or "", ""),
                "department_head": bool(e.get("department_head")),
                "provincial_society_member": bool(e.get("provincial_society_member"))} for e in roster]
    refused = may_download(view, actor)
    stored = data.get("materials", {}) or {}
    materials = [{"slot": slot, "label": label, "file": stored.get(slot), "downloadable": refused is None}
                 for slot, label in SLOTS.items()]
    votes = [{"name": v.get("name", ""), "score": v.get("score", ""),
              "recommendation": RECOMMENDATIONS.get(v.get("recommendation"), "未选择")}
             for v in (data.get("votes") or {}).values()]
    return {"center_name": data.get("center_name", ""), "specialty": data.get("specialty", ""),
            "category": data.get("category", ""), "host": host.name if host else "（名录中没有此单位）",
            "host_level": host.level if host else "", "members": members, "materials": materials,
            "download_refused": refused, "experts": [people.get(e.lower(), unknown)["name"] for e in experts],
            "votes": votes, "approving": sum(v.get("recommendation") == "approve"
                                             for v in (data.get("votes") or {}).values())}


def _death_review(session: Session, data: dict[str, Any]) -> dict[str, Any]:
    """The facts the review needs; the patient's identity never entered the case (only a keyed hash)."""
    hospital = session.exec(select(Institution).where(Institution.code == str(data.get("hospital") or ""))).first()
    drg = str(data.get("drg") or "")
    group = None
    if drg and data.get("died_on"):
        group = session.get(LowRiskGroup, (int(str(data["died_on"])[:4]), drg))
    facts = [
        ("报告医院", hospital.name if hospital else str(data.get("hospital") or "")),
        (DEATH_FIELDS["record_no"], data.get("record_no", "")),
        (DEATH_FIELDS["admitted_on"], data.get("admitted_on") or "未填"),
        (DEATH_FIELDS["died_on"], data.get("died_on", "")),
        (DEATH_FIELDS["department"], data.get("department") or "未填"),
        (DEATH_FIELDS["diagnosis"], data.get("diagnosis") or "未填"),
        (DEATH_FIELDS["drg"], f"{drg}（{group.name}）" if group and group.name else (drg or "未填")),
        ("低风险组死亡", _low_risk(data)),
        (DEATH_FIELDS["autopsy"], "是" if data.get("autopsy") else "否"),
        (DEATH_FIELDS["adverse_grade"], data.get("adverse_grade") or "无"),
        ("讨论期限", data.get("discussion_due") or "分派后确定"),
    ]
    if data.get("autopsy_report_on"):
        facts += [("尸检报告日期", data["autopsy_report_on"]), ("再次讨论期限", data.get("rediscussion_due", ""))]
    discussions = [(title, [(label, (data.get(key) or {}).get(k, "")) for k, label in DISCUSSION_FIELDS.items()])
                   for key, title in (("discussion", "死亡病例讨论"), ("rediscussion", "尸检后再次讨论")) if data.get(key)]
    factors = [(FACTOR_CATEGORIES.get(k, "其他因素"), v if isinstance(v, list) else [str(v)])
               for k, v in (data.get("factors") or {}).items()]
    owners = _people_by_email(session, [a.get("owner", "") for a in data.get("actions", []) if isinstance(a, dict)])
    actions = [{"id": a.get("id"), "description": a.get("description", ""), "due": a.get("due", ""),
                "owner": owners.get(str(a.get("owner", "")).lower(), {}).get("name", "（不在人员名录中）"),
                "strength": STRENGTHS.get(a.get("strength"), "未注明").split("（")[0],
                "evidence": [e.get("text", "") + (f"（{e['by']}）" if e.get("by") else "") for e in a.get("evidence", [])]}
               for a in data.get("actions", []) if isinstance(a, dict)]
    return {"facts": facts, "discussions": discussions, "factors": factors, "actions": actions}


def _low_risk(data: dict[str, Any]) -> str:
    if not data.get("low_risk"):
        return "否"
    source = str(data.get("low_risk_source") or "")
    if source.startswith("drg:"):
        return f"是（DRG 分组属 {source[4:]} 年低风险组）"
    return "是（医院标注）" if source == "column" else "是"
