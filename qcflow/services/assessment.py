"""The annual assessment (Y§24): rubric versions, funding declarations, the campaign, grades and ranking.

The rules are in states/assessment.py and states/rubric.py; every step goes through the engine. This
module loads the year's rubric, opens one case per active center with its scorers and its evidence,
provides the facts the rules need, and writes the grade when a result is published.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlmodel import Session, select

from models import Case, Center, Deadline, Institution, Person, RoleAssignment
from models.assessment import AssessmentResult, AssessmentRubric, FundingDeclaration
from qcflow import engine
from qcflow.core.clock import fmt_local, local_date, utcnow
from qcflow.core.errors import UserError
from qcflow.core.safeload import load_yaml
from qcflow.engine import plugins
from qcflow.services import consequences, evidence
from qcflow.store.calendar import calendar_for
from qcflow.store.raw import Raw
from states import assessment as A
from states import rubric as R
from states.rules import Reason, Refused

KIND = "assessment"


def _key(center_code: str, year: int) -> str:
    return f"assessment:{center_code}:{year}"


# --- the rubric --------------------------------------------------------------------------------------

def current_rubric(session: Session, year: int) -> Optional[AssessmentRubric]:
    return session.exec(select(AssessmentRubric).where(AssessmentRubric.year == year)
                        .order_by(AssessmentRubric.version.desc())).first()


def _published_count(session: Session, year: int) -> int:
    return len(session.exec(select(AssessmentResult.id).where(AssessmentResult.year == year)).all())


def load_rubric(session: Session, content: bytes, source: str, year: Optional[int] = None,
                now: Optional[datetime] = None) -> dict[str, Any]:
    """Store the file as the year's rubric in force (a new version); the same content again stores nothing.
    Refused, whole, when the file is incoherent or the year's results are already published."""
    data = load_yaml(content, source)
    parsed, faults = R.parse(data, year)
    if parsed is None:
        raise Refused(faults)
    if _published_count(session, parsed.year):
        raise Refused([Reason(A.RULE, f"{parsed.year} 年考核结果已发布，该年度考核细则不能再修改")])
    latest = current_rubric(session, parsed.year)
    content_data = {**data, "year": parsed.year}
    if latest is not None and latest.content == content_data:
        return {"year": parsed.year, "version": latest.version, "changed": False,
                "summary": f"{parsed.year} 年考核细则与第 {latest.version} 版相同，未新增版本"}
    row = AssessmentRubric(year=parsed.year, version=(latest.version + 1) if latest else 1, city=parsed.city,
                           label=parsed.label, content=content_data, source=source, loaded_at=now or utcnow())
    session.add(row)
    session.flush()
    items = "、".join(f"{i.code}（{i.max_points:g}分）" for i in parsed.items)
    return {"year": parsed.year, "version": row.version, "changed": True, "label": parsed.label,
            "summary": f"已导入 {parsed.city}{parsed.year} 年{parsed.label}细则第 {row.version} 版：{len(parsed.items)} 项 {items}"}


# --- funding declarations (Y§16) ------------------------------------------------------------------------

def _center(session: Session, code: str) -> Center:
    center = session.exec(select(Center).where(Center.code == str(code or "").strip())).first()
    if center is None:
        raise Refused([Reason("", f"没有代码为“{code}”的质控中心")])
    return center


def declare_funding(session: Session, center_code: str, year: int, email: str, values: dict[str, Any],
                    now: Optional[datetime] = None) -> FundingDeclaration:
    """The host unit's yearly declaration of earmarked funds (Y§16), by the center's director or secretary
    or the commission. A published year's declaration is not changed."""
    center = _center(session, center_code)
    actor = engine.actor_by_email(session, email)
    if not (actor.holds("commission_reviewer") or any(actor.holds(r, center.id) for r in A.SUBMITTERS)):
        raise Refused([Reason("Y§16", f"经费申报须由{center.name}的主任、秘书或医政医管科填报，{actor.name}没有此权限")])
    faults = []
    amount = values.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, int) and not str(amount or "").strip().isdigit():
        faults.append(Reason("Y§16", f"专项经费金额（amount）应为整数元（当前：{amount}）"))
    leader = str(values.get("leader_name") or "").strip()
    if not leader:
        faults.append(Reason("Y§16", "须写明挂靠单位分管质控中心工作的院领导姓名（leader_name）"))
    unknown = sorted(set(values) - {"amount", "leader_name", "leader_title", "proof"})
    if unknown:
        faults.append(Reason("Y§16", f"经费申报只接受 amount、leader_name、leader_title、proof；不接受：{'、'.join(unknown)}"))
    if faults:
        raise Refused(faults)
    if session.exec(select(AssessmentResult.id).where(AssessmentResult.center_code == center.code,
                                                      AssessmentResult.year == year)).first():
        raise Refused([Reason(A.RULE, f"{center.name}{year} 年考核结果已发布，经费申报不能再修改")])
    row = evidence.declaration(session, center.code, year) or FundingDeclaration(
        center_code=center.code, year=year, amount=0, leader_name="", declared_by_id=actor.person_id,
        declared_at=now or utcnow())
    row.amount, row.leader_name = int(str(amount).strip()), leader
    row.leader_title, row.proof = str(values.get("leader_title") or "").strip(), str(values.get("proof") or "").strip()
    row.declared_by_id, row.declared_at = actor.person_id, now or utcnow()
    session.add(row)
    session.flush()
    return row


def _funding_data(session: Session, center_code: str, year: int) -> Optional[dict[str, Any]]:
    row = evidence.declaration(session, center_code, year)
    if row is None:
        return None
    return {"amount": row.amount, "leader_name": row.leader_name, "leader_title": row.leader_title, "proof": row.proof}


# --- the campaign ---------------------------------------------------------------------------------------

def expert_pool(session: Session) -> dict[str, dict[str, Any]]:
    """The expert committee by email: id, name and institution code (for 回避)."""
    institutions = {i.id: i.code for i in session.exec(select(Institution)).all()}
    rows = session.exec(select(Person).join(RoleAssignment, RoleAssignment.person_id == Person.id)
                        .where(RoleAssignment.role == "expert").order_by(Person.email)).all()
    return {p.email: {"person_id": p.id, "name": p.name, "institution": institutions.get(p.institution_id, "")}
            for p in rows}


def pick_scorers(host: str, pool: dict[str, dict[str, Any]], load: dict[str, int], count: int) -> list[str]:
    """The experts not from the host, the least loaded this campaign first (then by email): spreads the work."""
    eligible = [e for e, x in pool.items() if x["institution"] != host]
    eligible.sort(key=lambda e: (load.get(e, 0), e))
    return sorted(eligible[:count])


def evidence_changes(session: Session, center: Center, year: int, now: datetime) -> dict[str, Any]:
    return {"evidence": evidence.collect(session, center, year), "evidence_at": fmt_local(now),
            "funding": _funding_data(session, center.code, year)}


def _title(center: Center, year: int, label: str) -> str:
    return f"{center.name}{year}年度{'考核' if label == '年度考核' else label}"


def open_assessments(session: Session, year: int, force: bool = False, now: Optional[datetime] = None) -> dict[str, Any]:
    """One assessment per active center for the year, with scorers and evidence (idempotent: a rerun opens
    none more). `force`: also gather the evidence again for those not yet moderated."""
    now = now or utcnow()
    rubric_row = current_rubric(session, year)
    if rubric_row is None:
        raise UserError(f"尚未导入 {year} 年考核细则，请先运行 `qcflow assessment rubric load FILE --year {year}`")
    pool = expert_pool(session)
    load: dict[str, int] = {}
    existing = {c.key: c for c in session.exec(select(Case).where(Case.kind == KIND)).all()
                if str(c.key or "").endswith(f":{year}")}
    for case in existing.values():
        for email in case.data.get("experts", []):
            load[email] = load.get(email, 0) + 1
    opened, already, refreshed, short = [], [], [], []
    institutions = {i.id: i for i in session.exec(select(Institution)).all()}
    for center in session.exec(select(Center).where(Center.status == "active").order_by(Center.code)).all():
        if _key(center.code, year) in existing:
            already.append(center.code)
            case = existing[_key(center.code, year)]
            if force and case.state in ("open", "self_assessed", "scored"):
                engine.fire(session, KIND, case.id, "refresh_evidence", changes=evidence_changes(session, center, year, now),
                            now=now)
                refreshed.append(center.code)
            continue
        host = institutions.get(center.host_institution_id)
        scorers = pick_scorers(host.code if host else "", pool, load, A.SCORERS_PER_CENTER.value)
        for email in scorers:
            load[email] = load.get(email, 0) + 1
        if len(scorers) < A.SCORERS_PER_CENTER.value:
            short.append(center.code)
        data = {"year": year, "center_code": center.code, "host": host.code if host else "",
                "host_name": host.name if host else "", "kind_label": rubric_row.label,
                "rubric": rubric_row.content, "rubric_version": rubric_row.version,
                "experts": scorers, "scorer_names": {e: pool[e]["name"] for e in scorers}, "votes": {},
                **evidence_changes(session, center, year, now)}
        if engine.open_case(session, KIND, center, _title(center, year, rubric_row.label), data,
                            key=_key(center.code, year), now=now) is not None:
            opened.append(center.code)
        else:
            already.append(center.code)
    summary = f"{year} 年{rubric_row.label}：新开 {len(opened)} 个中心，已存在 {len(already)} 个"
    if refreshed:
        summary += f"，更新佐证 {len(refreshed)} 个"
    if short:
        summary += f"；{'、'.join(short)} 回避后评分专家不足 {A.SCORERS_PER_CENTER.value} 位，请指定"
    return {"year": year, "label": rubric_row.label, "opened": opened, "already_open": already,
            "refreshed": refreshed, "short_of_scorers": short, "summary": summary}


# --- what the rules need, and what publication writes ---------------------------------------------------

@plugins.provides_facts(KIND)
def assessment_facts(session: Session, case: Case, data: dict[str, Any], now: datetime) -> dict[str, Any]:
    raw = Raw(session)
    today = local_date(now)
    scoring = session.exec(select(Deadline).where(Deadline.case_id == case.id, Deadline.step == "scoring",
                                                  Deadline.closed_at.is_(None))).first()
    published = raw.first("SELECT max(at) FROM caseevent WHERE case_id = ? AND \"trigger\" = 'publish'", [case.id])
    appeal_until = None
    if published and published[0]:
        appeal_until = calendar_for(session).add_working_days(local_date(Raw.read_ts(published[0])),
                                                              A.APPEAL_WORKING_DAYS.value)
    return {"today": today, "expert_pool": expert_pool(session),
            "scoring_deadline_passed": bool(scoring and scoring.due_at < now), "appeal_until": appeal_until}


@plugins.effect("assessment_published")
def record_result(session: Session, case: Case, now: datetime) -> None:
    """Write (or, after a re-moderated appeal, rewrite) the center's grade, then let Y§24–§26 follow."""
    result = case.data.get("result") or {}
    code, year = str(case.data.get("center_code")), int(case.data.get("year"))
    row = session.exec(select(AssessmentResult).where(AssessmentResult.center_code == code,
                                                      AssessmentResult.year == year)).first()
    row = row or AssessmentResult(center_code=code, year=year, score=0, bonus=0, grade="", case_id=case.id,
                                  published_at=now)
    row.score, row.bonus, row.grade = float(result["score"]), float(result["bonus"]), str(result["grade"])
    row.vetoed, row.veto_ground, row.case_id, row.published_at = bool(result["vetoed"]), str(result["veto_ground"]), case.id, now
    session.add(row)
    session.flush()
    consequences.after_grade_published(session, code, year, row.grade, now)


# --- reading ----------------------------------------------------------------------------------------------

def ranking(session: Session, year: int) -> list[dict[str, Any]]:
    """The published grades of the year, best total first (a veto ranks last); equal totals share a rank."""
    names = {c.code: c.name for c in session.exec(select(Center)).all()}
    rows = session.exec(select(AssessmentResult).where(AssessmentResult.year == year)).all()
    rows = sorted(rows, key=lambda r: (r.vetoed, -(r.score + r.bonus), r.center_code))
    out: list[dict[str, Any]] = []
    for i, r in enumerate(rows, 1):
        total = R.round1(r.score + r.bonus)
        rank = out[-1]["rank"] if out and out[-1]["total"] == total and out[-1]["vetoed"] == r.vetoed else i
        out.append({"rank": rank, "center_code": r.center_code, "center_name": names.get(r.center_code, r.center_code),
                    "score": r.score, "bonus": r.bonus, "total": total, "grade": r.grade, "vetoed": r.vetoed,
                    "veto_ground": r.veto_ground, "case_id": r.case_id, "published_at": fmt_local(r.published_at)})
    return out


def history(session: Session, center_code: str) -> list[dict[str, Any]]:
    center = _center(session, center_code)
    rows = session.exec(select(AssessmentResult).where(AssessmentResult.center_code == center.code)
                        .order_by(AssessmentResult.year)).all()
    return [{"year": r.year, "score": r.score, "bonus": r.bonus, "total": R.round1(r.score + r.bonus), "grade": r.grade,
             "vetoed": r.vetoed, "veto_ground": r.veto_ground, "case_id": r.case_id} for r in rows]


def progress(session: Session, year: int) -> list[dict[str, Any]]:
    """The campaign per center: where each assessment stands, how many scorers have scored."""
    names = {c.id: c.name for c in session.exec(select(Center)).all()}
    cases = [c for c in session.exec(select(Case).where(Case.kind == KIND).order_by(Case.id)).all()
             if c.data.get("year") == year]
    return [{"case_id": c.id, "center_code": c.data.get("center_code"), "center_name": names.get(c.center_id, ""),
             "state": c.state, "state_label": A.WORKFLOW.state_label(c.state), "scored": len(c.data.get("votes", {})),
             "scorers": len(c.data.get("experts", [])), "grade": (c.data.get("result") or {}).get("grade", "")}
            for c in cases]


def latest_year(session: Session) -> Optional[int]:
    """The latest year whose rubric is loaded (None: none yet)."""
    row = session.exec(select(AssessmentRubric.year).order_by(AssessmentRubric.year.desc())).first()
    return int(row) if row is not None else None


def funding_rows(session: Session, year: int) -> list[dict[str, Any]]:
    rows = session.exec(select(FundingDeclaration).where(FundingDeclaration.year == year)
                        .order_by(FundingDeclaration.center_code)).all()
    return [{"center_code": r.center_code, "amount": r.amount, "leader_name": r.leader_name,
             "leader_title": r.leader_title, "proof": r.proof, "declared_at": fmt_local(r.declared_at)} for r in rows]
