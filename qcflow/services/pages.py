"""Page-specific reads: the commission's overview, search with pagination, the registry and a
center's own page. Counts are counts; every title of a private case passes the read policy
(states/privacy.py) first, so a list or a search never shows what the person may not see."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Optional

from sqlmodel import Session

from qcflow.core.clock import fmt_local
from qcflow.services.access import reader_of, visible_due
from qcflow.services.meetings import dispatch_obligations
from qcflow.services.registry import center_detail, center_rows
from qcflow.services.terms import terms_ending
from qcflow.store.numbering import document_numbers
from qcflow.store.raw import Raw
from states import privacy
from states.docnumber import render_document_number
from states.registry import WORKFLOWS
from states.rules import ROLE_LABELS, Reason, Refused
from states.staffing import ROLES

PER_PAGE = 50
CENTER_STATUS = {"active": "运行中", "suspended": "暂停", "revoked": "已撤销", "rectifying": "整改中"}


def center_status(status: str) -> str:
    return CENTER_STATUS.get(status, "其他")


def _open_states(kind: str) -> tuple[str, ...]:
    workflow = WORKFLOWS[kind]
    ends = set(workflow.final) | {s for s in workflow.states
                                  if not any(s in t.sources and t.dest for t in workflow.transitions.values())}
    return tuple(s for s in workflow.states if s not in ends)


# --- the overview ------------------------------------------------------------------------------

def overview(session: Session, person_id: Optional[int], today: date) -> dict[str, Any]:
    """Centers with their status, open cases per kind and state, and what is overdue."""
    raw = Raw(session)
    counts: dict[tuple[str, str], int] = {(k, s): n for k, s, n in raw.rows(
        "SELECT kind, state, COUNT(*) FROM qc_case GROUP BY kind, state")}
    kinds = []
    for kind, workflow in WORKFLOWS.items():
        states = [{"state": s, "label": label, "count": counts.get((kind, s), 0), "open": s in _open_states(kind)}
                  for s, label in workflow.states.items()]
        kinds.append({"kind": kind, "label": workflow.label, "states": states,
                      "open": sum(s["count"] for s in states if s["open"]),
                      "total": sum(s["count"] for s in states)})
    due = visible_due(session, today, person_id)
    late = [r for r in due if r["late"]]
    per_center_open: dict[Optional[int], int] = {}
    open_pairs = [(k, s) for k in WORKFLOWS for s in _open_states(k)]
    for center_id, kind, state, n in raw.rows(
            "SELECT center_id, kind, state, COUNT(*) FROM qc_case GROUP BY center_id, kind, state"):
        if (kind, state) in open_pairs:
            per_center_open[center_id] = per_center_open.get(center_id, 0) + n
    ids = {code: cid for cid, code in raw.rows("SELECT id, code FROM center")}
    late_by_center: dict[str, int] = {}
    for r in late:
        late_by_center[r["center_code"]] = late_by_center.get(r["center_code"], 0) + 1
    centers = [{**c, "status_label": center_status(c["status"]), "open": per_center_open.get(ids.get(c["code"]), 0),
                "late": late_by_center.get(c["code"], 0)} for c in center_rows(session)]
    return {"kinds": kinds, "centers": centers, "late": late[:20], "late_count": len(late),
            "due_count": len(due), "terms_ending": [r for r in terms_ending(session, today) if r["ending_soon"]]}


# --- search ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Filters:
    kind: str = ""
    state: str = ""
    center: str = ""  # center code
    number: str = ""  # 文号, or a part of it (e.g. 〔2026〕7 or 7)
    q: str = ""  # words of the title
    page: int = 1

    def problems(self) -> list[Reason]:
        found = []
        if self.kind and self.kind not in WORKFLOWS:
            found.append(Reason("", f"没有“{self.kind}”这类事项"))
        elif self.state and self.kind and self.state not in WORKFLOWS[self.kind].states:
            found.append(Reason("", f"{WORKFLOWS[self.kind].label}没有这个状态"))
        return found


def _number_matches(raw: Raw, text: str) -> set[int]:
    """Cases whose rendered 文号 contains the text (spaces and brackets as people type them)."""
    needle = re.sub(r"\s+", "", text).replace("[", "〔").replace("]", "〕").replace("(", "〔").replace(")", "〕")
    return {case_id for case_id, organ, year, seq in
            raw.rows("SELECT case_id, organ_code, year, seq FROM documentnumber")
            if needle in render_document_number(organ, year, seq) or needle == str(seq)}


def search(session: Session, person_id: Optional[int], filters: Filters, per_page: int = PER_PAGE) -> dict[str, Any]:
    """Cases matching every filter, newest first, one page at a time. A private case's title is
    matched and shown only where the person may open the case."""
    if reasons := filters.problems():
        raise Refused(reasons)
    raw = Raw(session)
    reader = reader_of(session, person_id)
    kinds = [filters.kind] if filters.kind else list(WORKFLOWS)
    sql = ("SELECT c.id, c.kind, c.title, c.state, c.updated_at, c.center_id, c.data, ce.name FROM qc_case c "
           "LEFT JOIN center ce ON ce.id = c.center_id WHERE c.kind IN (" + raw.in_list(kinds) + ")")
    params: list[Any] = list(kinds)
    if filters.state:
        sql, params = sql + " AND c.state = ?", [*params, filters.state]
    if filters.center:
        sql, params = sql + " AND ce.code = ?", [*params, filters.center]
    if filters.number.strip():
        ids = sorted(_number_matches(raw, filters.number))
        if not ids:
            return _page([], 0, filters, per_page)
        sql, params = sql + " AND c.id IN (" + raw.in_list(ids) + ")", [*params, *ids]
    needle = filters.q.strip().casefold()
    found = []
    for case_id, kind, title, state, updated, center_id, data, center in raw.rows(sql + " ORDER BY c.id DESC", params):
        workflow = WORKFLOWS[kind]
        blanket = privacy.blanket_level(workflow.private, reader)
        if blanket == privacy.NONE:
            title = f"{workflow.label} #{case_id}"
        elif blanket is None:
            subject = privacy.subject(case_id, kind, workflow.label, True, center_id, Raw.read_js(data) or {})
            title = privacy.list_title(subject, reader, title)
        if needle and needle not in title.casefold():
            continue
        found.append((case_id, kind, title, state, updated, center))
    total = len(found)
    page = max(1, min(filters.page, max(1, math.ceil(total / per_page))))
    rows = found[(page - 1) * per_page:page * per_page]
    numbers = document_numbers(session, [r[0] for r in rows]) if rows else {}
    out = [{"id": case_id, "kind": kind, "kind_label": WORKFLOWS[kind].label, "title": title,
            "state_label": WORKFLOWS[kind].state_label(state), "number": numbers.get(case_id, ""),
            "center": center or "", "updated_at": fmt_local(Raw.read_ts(updated))}
           for case_id, kind, title, state, updated, center in rows]
    return _page(out, total, Filters(**{**filters.__dict__, "page": page}), per_page)


def _page(rows: list[dict[str, Any]], total: int, filters: Filters, per_page: int) -> dict[str, Any]:
    pages = max(1, math.ceil(total / per_page))
    return {"rows": rows, "total": total, "page": filters.page, "pages": pages, "per_page": per_page,
            "first": (filters.page - 1) * per_page + 1 if total else 0,
            "last": min(filters.page * per_page, total), "filters": filters}


# --- the registry ------------------------------------------------------------------------------

def registry(session: Session) -> dict[str, Any]:
    """Centers, the people with their roles, and the current terms."""
    raw = Raw(session)
    centers = {cid: (code, name) for cid, code, name in raw.rows("SELECT id, code, name FROM center")}
    people: dict[int, dict[str, Any]] = {}
    for pid, name, title, institution, role, center_id in raw.rows(
            "SELECT p.id, p.name, p.title, i.name, r.role, r.center_id FROM person p "
            "LEFT JOIN institution i ON i.id = p.institution_id LEFT JOIN roleassignment r ON r.person_id = p.id "
            "ORDER BY p.name, p.id"):
        entry = people.setdefault(pid, {"name": name, "title": title or "", "institution": institution or "",
                                        "roles": []})
        if role:
            where = centers.get(center_id, ("", ""))[1]
            entry["roles"].append(ROLE_LABELS.get(role, "其他角色").replace("质控中心", f"{where}") if where
                                  else ROLE_LABELS.get(role, "其他角色"))
    terms = [{"center": name, "center_code": code, "person": person, "role": ROLES.get(role, "其他"),
              "start": str(start)[:10], "end": str(end)[:10], "terms": n}
             for code, name, person, role, start, end, n in raw.rows(
                 "SELECT c.code, c.name, p.name, a.role, a.term_start, a.term_end, a.consecutive_terms "
                 "FROM appointment a JOIN center c ON c.id = a.center_id JOIN person p ON p.id = a.person_id "
                 "WHERE a.ended_on IS NULL ORDER BY a.term_end, c.code")]
    centers_rows = [{**c, "status_label": center_status(c["status"])} for c in center_rows(session)]
    return {"centers": centers_rows, "people": list(people.values()), "terms": terms}


def center_page(session: Session, code: str, person_id: Optional[int], today: date) -> dict[str, Any]:
    """A center with its people, its obligations (reports the calendar opened) and what is due."""
    detail = center_detail(session, code)  # Refused when there is no such center
    raw = Raw(session)
    obligations = []
    for case_id, kind, title, state, data in raw.rows(
            "SELECT c.id, c.kind, c.title, c.state, c.data FROM qc_case c JOIN center ce ON ce.id = c.center_id "
            "WHERE ce.code = ? AND c.kind = 'report' ORDER BY c.id DESC", [code]):
        data = Raw.read_js(data) or {}
        obligations.append({"id": case_id, "kind": kind, "title": title, "state": state,
                            "state_label": WORKFLOWS[kind].state_label(state), "due": data.get("due_date", ""),
                            "done": state in WORKFLOWS[kind].final})
    due = visible_due(session, today, person_id, code)
    counts = search(session, person_id, Filters(center=code), per_page=10)
    for p in detail["people"]:
        p.pop("email", None)  # the registry page names people; addresses stay in the directory
    return {"center": {**detail, "status_label": center_status(detail["status"])}, "obligations": obligations,
            "due": due, "recent": counts, "dispatch_missing": dispatch_obligations(session, today, code),  # H4
            "terms_ending": [r for r in terms_ending(session, today) if r["ending_soon"] and r["center"] == code]}
