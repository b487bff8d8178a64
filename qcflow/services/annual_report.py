"""H6: build the specialty's annual report from the indicator analysis, keep it as a case, publish it.

A build takes the year's analysis (qcflow.services.indicators), stores a snapshot of it with the
report's draft case (opening the case, or the next version's after a publication), and renders HTML
and PDF from the snapshot. Publication renders the snapshot once more with its version number and
stores the bytes (AnnualReportVersion, immutable): rebuilding from the stored snapshot gives the
same HTML byte for byte.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from datetime import datetime
from typing import Any, Optional

from sqlmodel import Session, select

from models import Case, Center, Commission
from models.annual_report import AnnualReportVersion
from qcflow import engine
from qcflow.core.clock import utcnow
from qcflow.core.errors import UserError
from qcflow.engine import plugins
from qcflow.services import indicators
from qcflow.services.evidence import Evidence, register_source
from qcflow.services.access import reader_of
from qcflow.services.report_render import ReportHeading, render_html, render_pdf, sha256
from states import privacy
from states.annual_report import title_of
from states.rules import Reason, Refused

KIND = "annual_report"


@dataclass
class Built:
    case_id: int
    state: str
    version: int
    title: str
    html: str
    pdf: bytes
    indicators: int
    flags: int
    refreshed: bool  # False: the case is past its draft, so the snapshot under review was rendered, not new data

    def summary(self) -> dict[str, Any]:
        return {"case_id": self.case_id, "state": self.state, "version": self.version, "title": self.title,
                "indicators": self.indicators, "flags": self.flags, "refreshed": self.refreshed,
                "html_sha256": sha256(self.html), "pdf_bytes": len(self.pdf)}


def snapshot(analysis: dict[str, Any]) -> dict[str, Any]:
    """The analysis as stored (JSON: integer keys become text): render from this, never from the live dict."""
    return json.loads(json.dumps(analysis, ensure_ascii=False, sort_keys=True))


def center_of(session: Session, specialty: str) -> Center:
    center = session.exec(select(Center).where(Center.specialty == specialty, Center.status == "active")
                          .order_by(Center.id)).first()
    if center is None:
        known = "、".join(sorted({c.specialty for c in session.exec(select(Center)).all()})) or "无"
        raise UserError(f"没有专业为“{specialty}”的在册质控中心（现有专业：{known}）")
    return center


def heading_for(session: Session, data: dict[str, Any], published: bool) -> ReportHeading:
    center = center_of(session, str(data["specialty"]))
    commission = session.exec(select(Commission)).first()
    region = (commission.name.replace("卫生健康委员会", "") if commission else "") or "全市"
    return ReportHeading(specialty=str(data["specialty"]), year=int(data["year"]), center_name=center.name,
                         region=region, version=int(data.get("version") or 1) if published else 0)


def render(session: Session, data: dict[str, Any], published: bool = False) -> tuple[str, bytes]:
    html = render_html(data.get("analysis") or {}, heading_for(session, data, published))
    return html, render_pdf(html)


def _cases(session: Session, specialty: str, year: int) -> list[Case]:
    prefix = f"annual_report:{specialty}:{year}:v"
    return [c for c in session.exec(select(Case).where(Case.kind == KIND).order_by(Case.id)).all()
            if (c.key or "").startswith(prefix)]


def build(session: Session, specialty: str, year: int, now: Optional[datetime] = None) -> Built:
    """Render the year's report from the data; the draft case takes the new snapshot (Y§14(三))."""
    now = now or utcnow()
    center = center_of(session, specialty)
    data = snapshot(indicators.analysis(session, specialty, year))
    cases = _cases(session, specialty, year)
    latest = cases[-1] if cases else None
    refreshed = True
    if latest is None or latest.state == "published":
        version = (int(latest.data.get("version") or 1) + 1) if latest else 1
        content = {"specialty": specialty, "year": year, "version": version, "analysis": data}
        record = engine.open_case(session, KIND, center, title=title_of(content), data=content,
                                  key=f"annual_report:{specialty}:{year}:v{version}", now=now)
        case_id, state, stored = record.id, record.state, content
    elif latest.state == "draft":
        result = engine.fire(session, KIND, latest.id, "rebuild", changes={"analysis": data}, now=now)
        case_id, state, stored = latest.id, result.case.state, result.case.data
    else:
        case_id, state, stored, refreshed = latest.id, latest.state, latest.data, False
    html, pdf = render(session, stored)
    analysed = (stored.get("analysis") or {}).get("indicators") or []
    return Built(case_id, state, int(stored.get("version") or 1),
                 ReportHeading(specialty, year).full_title, html, pdf, len(analysed),
                 sum(len(i.get("flags") or []) for i in analysed), refreshed)


@plugins.effect("publish_annual_report")
def publish(session: Session, case: Case, now: datetime) -> AnnualReportVersion:
    html, pdf = render(session, case.data, published=True)
    row = AnnualReportVersion(case_id=case.id, specialty=case.data["specialty"], year=int(case.data["year"]),
                              version=int(case.data.get("version") or 1), title=case.title,
                              analysis=case.data.get("analysis") or {}, html=html, html_sha256=sha256(html),
                              pdf=pdf, pdf_sha256=sha256(pdf), published_at=now)
    session.add(row)
    session.flush()
    return row


def published_versions(session: Session, specialty: str, year: Optional[int] = None) -> list[dict[str, Any]]:
    query = select(AnnualReportVersion.id, AnnualReportVersion.year, AnnualReportVersion.version,
                   AnnualReportVersion.title, AnnualReportVersion.html_sha256, AnnualReportVersion.pdf_sha256,
                   AnnualReportVersion.published_at).where(AnnualReportVersion.specialty == specialty)
    if year is not None:
        query = query.where(AnnualReportVersion.year == year)
    rows = session.exec(query.order_by(AnnualReportVersion.year, AnnualReportVersion.version)).all()
    return [{"id": r[0], "year": r[1], "version": r[2], "title": r[3], "html_sha256": r[4], "pdf_sha256": r[5],
             "published_at": r[6]} for r in rows]


def published_file(session: Session, specialty: str, year: int, version: int) -> AnnualReportVersion:
    """A published version, for anyone: what was published is public (H6)."""
    row = session.exec(select(AnnualReportVersion).where(AnnualReportVersion.specialty == specialty,
                                                         AnnualReportVersion.year == year,
                                                         AnnualReportVersion.version == version)).first()
    if row is None:
        raise UserError(f"{specialty} {year} 年度报告没有已发布的第 {version} 版")
    return row


def reproduces(session: Session, row: AnnualReportVersion) -> bool:
    """Rendering the stored snapshot again gives the published HTML byte for byte."""
    data = {"specialty": row.specialty, "year": row.year, "version": row.version, "analysis": row.analysis}
    return sha256(render_html(row.analysis, heading_for(session, data, published=True))) == row.html_sha256


def preview(session: Session, case_id: int, person_id: Optional[int]) -> tuple[Case, str]:
    """A draft's HTML, for those who may see institutions' figures (Y§22) and the expert committee."""
    case = engine.load_case(session, KIND, case_id)
    reader = reader_of(session, person_id)
    allowed = privacy.indicator_access(reader, case.center_id) == privacy.INDICATOR_INSTITUTIONS or (
        reader.actor is not None and reader.actor.holds("expert"))
    if not allowed:
        raise Refused([Reason(privacy.RULE, "未发布的年度报告含各医疗机构数据，只有卫健委医政医管科、本专业质控中心和专家委员会可以预览；"
                                            "已发布的版本可在报告页面公开下载")])
    html = render_html(case.data.get("analysis") or {}, heading_for(session, case.data, published=False))
    return case, html


def _evidence(session: Session, center: Center, year: int) -> list[Evidence]:
    """Rubric item 7 (annual data analysis and report): the year's published report versions (H6)."""
    return [Evidence(f"{row['title']}", f"/annual-report/{center.specialty}/{row['year']}/v{row['version']}",
                     f"已发布，HTML 校验值 {row['html_sha256'][:12]}")
            for row in published_versions(session, center.specialty, year)]


register_source("7", "年度医疗服务与质量安全报告（H6）", _evidence)


def specialties(session: Session) -> list[str]:
    """Every specialty with an active center, in order: the flow builds one report for each."""
    return sorted({c.specialty for c in session.exec(select(Center).where(Center.status == "active")).all()})


def write_files(built: Built, folder: Path) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{built.title}-v{built.version}"
    html_path, pdf_path = folder / f"{stem}.html", folder / f"{stem}.pdf"
    html_path.write_text(built.html, encoding="utf-8")
    pdf_path.write_bytes(built.pdf)
    return {"html": str(html_path), "pdf": str(pdf_path)}
