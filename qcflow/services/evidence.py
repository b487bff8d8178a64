"""Evidence for an assessment, pre-filled from qcflow's own records, each entry with a link to its record.

Sources are pluggable: `register_source(rubric_item, name, fn)` adds one (inspections and dispatch
meetings register theirs from their own modules). A source reads; it never writes. `collect`
returns plain data the case stores, so the scorer's page shows what was known when it was gathered.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Callable

from sqlmodel import Session, select

from models import Case, Center, Meeting
from models.assessment import FundingDeclaration
from qcflow.core.clock import local_date
from qcflow.store.numbering import document_numbers
from qcflow.store.raw import Raw
from states.meetings import kind_label
from states.registry import WORKFLOWS


@dataclass(frozen=True)
class Evidence:
    label: str
    url: str = ""
    note: str = ""


Source = Callable[[Session, Center, int], list[Evidence]]
SOURCES: dict[str, tuple[str, Source]] = {}  # name (shown on the page) → (rubric item code, source)


def register_source(rubric_item: str, name: str, fn: Source) -> Source:
    """Register (or replace) a source of evidence for the rubric item with this code."""
    SOURCES[name] = (str(rubric_item), fn)
    return fn


def collect(session: Session, center: Center, year: int) -> list[dict[str, Any]]:
    """Every source's entries for the center and year, in registration order."""
    out = []
    for name, (item, fn) in SOURCES.items():
        entries = fn(session, center, year)
        out.append({"item": item, "source": name, "count": len(entries), "entries": [asdict(e) for e in entries]})
    return out


def _cases(session: Session, kind: str, center: Center) -> list[Case]:
    return list(session.exec(select(Case).where(Case.kind == kind, Case.center_id == center.id).order_by(Case.id)))


def _triggers(session: Session, case_ids: list[int]) -> dict[int, set[str]]:
    if not case_ids:
        return {}
    raw = Raw(session)
    found: dict[int, set[str]] = {i: set() for i in case_ids}
    for case_id, trigger in raw.rows(f'SELECT case_id, "trigger" FROM caseevent WHERE case_id IN ({raw.in_list(case_ids)})',
                                     case_ids):
        found[case_id].add(trigger)
    return found


def reports(session: Session, center: Center, year: int) -> list[Evidence]:
    """Y§17: the year's half-year and year-end reports, accepted on time or after being overdue."""
    cases = [c for c in _cases(session, "report", center)
             if c.data.get("report_kind") in ("half_year", "year_end") and str(c.data.get("period", "")).startswith(str(year))]
    events = _triggers(session, [c.id for c in cases])
    label = WORKFLOWS["report"].state_label
    out = []
    for c in cases:
        late = "mark_overdue" in events.get(c.id, set())
        timing = "曾逾期" if late else "按时"
        status = f"已通过（{timing}）" if c.state == "accepted" else f"{label(c.state)}（{timing}）"
        out.append(Evidence(c.title, f"/cases/report/{c.id}", f"截止 {c.data.get('due_date', '')}，{status}"))
    return out


def indicators(session: Session, center: Center, year: int) -> list[Evidence]:
    """Y§21: a new center's indicators, standards and assessment plan."""
    label = WORKFLOWS["report"].state_label
    return [Evidence(c.title, f"/cases/report/{c.id}", f"截止 {c.data.get('due_date', '')}，{label(c.state)}")
            for c in _cases(session, "report", center) if c.data.get("report_kind") == "indicators"]


def meetings(session: Session, center: Center, year: int) -> list[Evidence]:
    """Y§19: member meetings and trainings held in the year."""
    rows = session.exec(select(Meeting).where(Meeting.center_id == center.id, Meeting.kind.in_(("member_meeting", "training")))
                        .order_by(Meeting.held_on)).all()
    return [Evidence(f"{kind_label(m.kind)}：{m.title}", f"/new/meeting/{m.id}",
                     f"{m.held_on.isoformat()}，{len(m.attendees)} 人参加") for m in rows if m.held_on.year == year]


def documents(session: Session, center: Center, year: int) -> list[Evidence]:
    """Y§18: documents the commission issued for the center in the year."""
    cases = [c for c in _cases(session, "document", center)
             if c.state == "issued" and local_date(c.updated_at).year == year]
    numbers = document_numbers(session, [c.id for c in cases])
    return [Evidence(c.title, f"/cases/document/{c.id}", f"{numbers.get(c.id, '')} 已印发") for c in cases]


def death_reviews(session: Session, center: Center, year: int) -> list[Evidence]:
    """H5: death reviews the center closed in the year (named by number only, Y§22)."""
    cases = [c for c in _cases(session, "death_review", center) if local_date(c.updated_at).year == year]
    closed = [c for c in cases if c.state == "closed"]
    label = WORKFLOWS["death_review"].label
    return [Evidence(f"{label} #{c.id}", f"/cases/death_review/{c.id}", "已结案") for c in closed]


def funding(session: Session, center: Center, year: int) -> list[Evidence]:
    """Y§16: the host unit's declaration of the year's earmarked funds, with its leader in charge and its proof."""
    row = declaration(session, center.code, year)
    if row is None:
        return []
    proof = f"凭证：{row.proof}" if row.proof else "未提供凭证"
    leader = f"{row.leader_name}{f'（{row.leader_title}）' if row.leader_title else ''}"
    return [Evidence(f"挂靠单位专项经费 {row.amount:,} 元", f"/assessment/{year}#funding-{center.code}",
                     f"分管院领导 {leader}；{proof}")]


def declaration(session: Session, center_code: str, year: int) -> FundingDeclaration | None:
    return session.exec(select(FundingDeclaration).where(FundingDeclaration.center_code == center_code,
                                                         FundingDeclaration.year == year)).first()


register_source("1", "挂靠单位经费申报（Y§16）", funding)
register_source("2", "质控指标、标准及考核方案（Y§21）", indicators)
register_source("3", "死亡病例评审结案（H5）", death_reviews)
register_source("4", "成员工作会议和培训（Y§19）", meetings)
register_source("5", "经审核印发的公文（Y§18）", documents)
register_source("7", "半年及年度工作总结（Y§17）", reports)
