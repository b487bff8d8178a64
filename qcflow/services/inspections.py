"""Inspections (Y§14(四), Y§20): the facts their rules need, the feedback to each inspected
institution (one rectification list per institution), and the use cases the CLI and pages call.

Who hears an institution's findings: the people the directory lists with the `quality_office` role at
that institution (they may add rectification evidence from their link); when the directory lists
none, the contact the inspection names for it in `contacts` (a read-only link: the center records
the evidence it sends).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Optional

from sqlmodel import Session

from models import Case
from qcflow import engine
from qcflow.core.clock import local_date, utcnow
from qcflow.core.errors import UserError
from qcflow.engine import plugins
from qcflow.services.evidence import Evidence, register_source
from qcflow.store.raw import Raw
from states.inspection import PLAN, WORKFLOW as INSPECTION
from states.inspection_policy import LEVELS, SEVERITIES, level_of
from states.inspection_rectification import WORKFLOW as RECTIFICATION
from states.rules import Reason, Refused


def _institutions(raw: Raw) -> dict[str, dict[str, Any]]:
    return {code: {"id": iid, "name": name} for iid, code, name in raw.rows("SELECT id, code, name FROM institution")}


def quality_offices(raw: Raw, codes: list[str]) -> dict[str, list[dict[str, str]]]:
    """The directory's quality-office people per institution code."""
    if not codes:
        return {}
    rows = raw.rows("SELECT i.code, p.name, p.email FROM person p JOIN institution i ON i.id = p.institution_id "
                    "JOIN roleassignment r ON r.person_id = p.id "
                    f"WHERE r.role = 'quality_office' AND i.code IN ({raw.in_list(codes)}) ORDER BY p.id", codes)
    found: dict[str, list[dict[str, str]]] = {}
    for code, name, email in rows:
        found.setdefault(code, []).append({"name": name, "email": email})
    return found


def recipients_of(raw: Raw, data: dict[str, Any]) -> dict[str, dict[str, list[dict[str, str]]]]:
    """Per inspected institution: `offices` (directory people) or else `contacts` (listed in the inspection)."""
    codes = [str(c).upper() for c in data.get("institutions") or []]
    offices = quality_offices(raw, codes)
    contacts: dict[str, list[dict[str, str]]] = {}
    for row in data.get("contacts") or []:
        if isinstance(row, dict) and str(row.get("email") or "").strip():
            contacts.setdefault(str(row.get("institution") or "").upper(), []).append(
                {"name": str(row.get("name") or "").strip() or "质控办负责人", "email": str(row["email"]).strip().lower()})
    out = {}
    for code in codes:
        if offices.get(code):
            out[code] = {"offices": offices[code], "contacts": []}
        elif contacts.get(code):
            out[code] = {"offices": [], "contacts": contacts[code]}
    return out


@plugins.provides_facts(PLAN.kind)
def _plan_facts(session: Session, case: Case, data: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {"institutions": {code: v["name"] for code, v in _institutions(Raw(session)).items()}}


def plan_facts(raw: Raw, plan_id: Any) -> Optional[dict[str, Any]]:
    try:
        number = int(str(plan_id))
    except ValueError:
        return None
    row = raw.first("SELECT state, center_id, data FROM qc_case WHERE id = ? AND kind = ?", [number, PLAN.kind])
    if row is None:
        return None
    data = Raw.read_js(row[2]) or {}
    return {"state": row[0], "state_label": PLAN.state_label(row[0]), "center_id": row[1],
            "year": data.get("year"), "institutions": [str(c).upper() for c in data.get("institutions") or []]}


@plugins.provides_facts(INSPECTION.kind)
def _inspection_facts(session: Session, case: Case, data: dict[str, Any], now: datetime) -> dict[str, Any]:
    raw = Raw(session)
    return {"plan": plan_facts(raw, data.get("plan")), "recipients": recipients_of(raw, data),
            "today": local_date(now).isoformat()}


@plugins.provides_facts(RECTIFICATION.kind)
def _rectification_facts(session: Session, case: Case, data: dict[str, Any], now: datetime) -> dict[str, Any]:
    emails = [str(e).lower() for e in data.get("reviewers") or []]
    raw = Raw(session)
    ids = {pid for (pid,) in raw.rows(f"SELECT id FROM person WHERE email IN ({raw.in_list(emails)})", emails)} \
        if emails else set()
    return {"assigned_ids": ids}


@plugins.effect("inspection_feedback")
def feed_back(session: Session, case: Case, now: datetime) -> list[int]:
    """One rectification list per inspected institution, mailed to its quality office (Y§20); those
    far off standard are warned or named in a circular (通报), and the commission hears of it."""
    raw = Raw(session)
    data = case.data
    names = _institutions(raw)
    reach = recipients_of(raw, data)
    fed_back_on = local_date(now)
    opened = []
    for code in [str(c).upper() for c in data.get("institutions") or []]:
        findings = [f for f in data.get("findings", []) if f.get("institution") == code]
        items = [{"id": i, "finding": f["id"], "item": f["item"], "standard": f["standard"],
                  "severity": f["severity"], "severity_label": SEVERITIES[f["severity"]].label,
                  "requirement": f.get("requirement", ""),
                  "due": f.get("due") or (fed_back_on + timedelta(days=SEVERITIES[f["severity"]].rectify_days)).isoformat(),
                  "evidence": [], "verified": None}
                 for i, f in enumerate(findings, 1)]
        people = reach.get(code, {"offices": [], "contacts": []})
        everyone = people["offices"] + people["contacts"]
        content = {"inspection": case.id, "inspection_title": case.title, "institution": code,
                   "institution_name": names.get(code, {}).get("name", code), "items": items,
                   "level": level_of([i["severity"] for i in items]),
                   "level_label": LEVELS[level_of([i["severity"] for i in items])],
                   "reviewers": [p["email"] for p in people["offices"]], "recipients": everyone,
                   "due_date": max([i["due"] for i in items], default=fed_back_on.isoformat())}
        record = engine.open_case(session, RECTIFICATION.kind, _Center(case.center_id), RECTIFICATION.title_of(content),
                                  content, key=f"inspection_rectification:{case.id}:{code}", now=now)
        if record is None:
            continue
        opened.append(record.id)
        engine.fire_as_system(session, record, "flag", now=now)  # only when far off standard
        if not items:
            engine.fire_as_system(session, record, "close", now=now)  # nothing to rectify
    return opened


class _Center:
    """What open_case needs of a center: its id."""

    def __init__(self, center_id: int):
        self.id = center_id


# --- use cases -----------------------------------------------------------------------------------

def _mapping(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise UserError("数据文件应为键值映射（字段: 值），例如 center: CARD")
    return dict(data)


def plan(session: Session, email: str, data: dict[str, Any], submit: bool = True,
         now: Optional[datetime] = None) -> dict[str, Any]:
    """A center's inspection plan, submitted for the commission's authorization unless kept as a draft."""
    now = now or utcnow()
    record = engine.create_case(session, PLAN.kind, email, _mapping(data), now=now)
    if submit:
        engine.fire(session, PLAN.kind, record.id, "submit", email=email, now=now)
    return summary(session, PLAN.kind, record.id)


def start(session: Session, email: str, data: dict[str, Any], now: Optional[datetime] = None) -> dict[str, Any]:
    """Open an inspection under an authorized plan and start it, in one transaction: refused whole
    (nothing stored) when the plan is not authorized (Y§14(四))."""
    now = now or utcnow()
    record = engine.create_case(session, INSPECTION.kind, email, _mapping(data), now=now)
    engine.fire(session, INSPECTION.kind, record.id, "start", email=email, now=now)
    return summary(session, INSPECTION.kind, record.id)


def findings(session: Session, email: str, inspection_id: int, rows: list[Any], end_on: Optional[str] = None,
             now: Optional[datetime] = None) -> dict[str, Any]:
    """Record findings; with `end_on`, end the inspection and feed them back to every institution."""
    now = now or utcnow()
    if rows:
        engine.fire(session, INSPECTION.kind, inspection_id, "record_findings", email=email,
                    changes={"findings": rows}, now=now)
    if end_on:
        engine.fire(session, INSPECTION.kind, inspection_id, "send_findings", email=email,
                    changes={"end_on": end_on}, now=now)
    if not rows and not end_on:
        raise Refused([Reason("Y§20", "请提供检查发现（findings）或检查结束日期（end_on）")])
    return summary(session, INSPECTION.kind, inspection_id)


def rectifications_of(session: Session, inspection_id: int) -> list[dict[str, Any]]:
    rows = Raw(session).rows("SELECT id, title, state, data FROM qc_case WHERE kind = ? ORDER BY id",
                             [RECTIFICATION.kind])
    out = []
    for case_id, title, state, raw_data in rows:
        data = Raw.read_js(raw_data) or {}
        if data.get("inspection") != inspection_id:
            continue
        items = data.get("items", [])
        out.append({"id": case_id, "title": title, "institution": data.get("institution"),
                    "institution_name": data.get("institution_name", ""),
                    "state": state, "state_label": RECTIFICATION.state_label(state), "level": data.get("level"),
                    "level_label": data.get("level_label", ""),
                    "items": len(items),
                    "verified": sum(1 for i in items if (i.get("verified") or {}).get("result") == "passed"),
                    "due_date": data.get("due_date")})
    return out


def summary(session: Session, kind: str, case_id: int) -> dict[str, Any]:
    case = engine.load_case(session, kind, case_id)
    workflow = engine.workflow_for(kind)
    out = {"kind": kind, "id": case.id, "title": case.title, "state": case.state,
           "state_label": workflow.state_label(case.state)}
    if kind == INSPECTION.kind:
        out.update({"plan": case.data.get("plan"), "end_on": case.data.get("end_on", ""),
                    "report_due": case.data.get("report_due", ""), "findings": len(case.data.get("findings", [])),
                    "rectifications": rectifications_of(session, case.id)})
    return out


# --- assessment evidence (rubric item 5: a commissioned inspection with follow-up, report, warnings, lists) ----

def evidence(session: Session, center: Any, year: int) -> list[Evidence]:
    """The center's inspections begun in the year: report on time or late, and how rectification stands."""
    raw = Raw(session)
    rows = raw.rows("SELECT id, state, data FROM qc_case WHERE kind = ? AND center_id = ? ORDER BY id",
                    [INSPECTION.kind, center.id])
    out = []
    for case_id, state, raw_data in rows:
        data = Raw.read_js(raw_data) or {}
        if not str(data.get("start_on", "")).startswith(str(year)):
            continue
        late = raw.first('SELECT 1 FROM caseevent WHERE case_id = ? AND "trigger" = ?', [case_id, "mark_overdue"])
        lists = rectifications_of(session, case_id)
        items = sum(r["items"] for r in lists)
        verified = sum(r["verified"] for r in lists)
        flagged = sum(1 for r in lists if r["level"] in ("warning", "notice"))
        poor = sum(1 for r in lists if r["state"] == "poor")
        report = f"报告{INSPECTION.state_label(state)}" + ("（曾逾期）" if late else "")
        # Y§22: the assessment is read more widely than the inspection; its number, never its title
        out.append(Evidence(f"{INSPECTION.label} #{case_id}", f"/cases/inspection/{case_id}",
                            f"{report}；受检 {len(lists)} 家，整改 {verified}/{items} 项核查到位，"
                            f"预警/通报 {flagged} 家，整改不力 {poor} 家"))
    return out


register_source("5", "督导检查、反馈、报告与整改清单（Y§14(四)、Y§20）", evidence)
