"""Spot checks of reported indicator values (Y§14(3): 抽查数据的真实性).

A check draws a sample of the institutions that reported the specialty's values that year, with a
seed: the seed, the size and the sample are recorded, and the same seed over the same institutions
draws the same sample again. The verifier then records, per institution and indicator, the counts
found in the records; a difference beyond the tolerance (states/indicator_analysis.py) is flagged.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlmodel import Session, select

from models import SpotCheck, SpotCheckResult
from qcflow.core.clock import local_date, utcnow
from qcflow.core.errors import UserError
from qcflow.engine import actor_by_email
from qcflow.services.indicators import center_of_specialty, dictionary
from qcflow.store.raw import Raw
from states import indicator_analysis as A
from states.indicator_rows import parse_count
from states.rules import Actor, Refused


def _may(session: Session, email: str, specialty: str) -> Actor:
    actor = actor_by_email(session, email)
    center = center_of_specialty(session, specialty)
    reason = A.import_refusal(actor, center.id if center else None, specialty)
    if reason is not None:
        raise Refused([reason])
    return actor


def draw(session: Session, specialty: str, year: int, actor_email: str, size: Optional[int] = None,
         seed: Optional[int] = None, now: Optional[datetime] = None) -> dict[str, Any]:
    now = now or utcnow()
    actor = _may(session, actor_email, specialty)
    size = A.SPOT_CHECK_DEFAULT_SIZE.value if size is None else size
    if size < 1:
        raise UserError("抽查机构数须大于 0")
    reporting = [code for (code,) in Raw(session).rows(
        "SELECT DISTINCT institution_code FROM indicatorvalue WHERE specialty = ? AND year = ?", [specialty, year])]
    if not reporting:
        raise UserError(f"“{specialty}” {year} 年还没有上报的指标数据，无从抽查")
    seed = int(local_date(now).strftime("%Y%m%d")) if seed is None else seed
    sample = A.draw_sample(reporting, size, seed)
    check = SpotCheck(specialty=specialty, year=year, seed=seed, size=size, institutions=sample,
                      drawn_by_id=actor.person_id, drawn_at=now)
    session.add(check)
    session.flush()
    return show(session, check.id) | {"reporting": len(reporting)}


def record(session: Session, check_id: int, actor_email: str, entries: Any,
           now: Optional[datetime] = None) -> dict[str, Any]:
    """Record verified counts: a list of {institution, indicator, numerator, denominator, note?}. All or nothing."""
    now = now or utcnow()
    check = session.get(SpotCheck, check_id)
    if check is None:
        raise UserError(f"没有编号为 {check_id} 的抽查")
    actor = _may(session, actor_email, check.specialty)
    if not isinstance(entries, list) or not entries:
        raise UserError("核查结果应为列表，每项含 institution（机构代码）、indicator（指标代码）、numerator、denominator，可有 note")
    found = dictionary(session, check.specialty, check.year)
    scales = {i.code: i.scale for i in found.indicators} if found else {}
    problems, rows = [], []
    for n, entry in enumerate(entries, start=1):
        where = f"第 {n} 项"
        if not isinstance(entry, dict):
            problems.append(f"{where}：应为含 institution、indicator、numerator、denominator 的对应表")
            continue
        institution = str(entry.get("institution") or "").strip().upper()
        indicator = str(entry.get("indicator") or "").strip()
        numerator, denominator = parse_count(entry.get("numerator")), parse_count(entry.get("denominator"))
        if institution not in check.institutions:
            problems.append(f"{where}：机构 {institution or '（空）'} 不在本次抽查的样本中（{'、'.join(check.institutions)}）")
        if indicator not in scales:
            problems.append(f"{where}：{check.year} 年的指标字典中没有指标 {indicator or '（空）'}")
        if numerator is None or denominator is None:
            problems.append(f"{where}：核查的分子、分母须为不小于 0 的数")
        if not problems:
            rows.append((institution, indicator, numerator, denominator, str(entry.get("note") or "").strip()))
    if problems:
        raise UserError("核查结果有误，未保存：\n  " + "\n  ".join(problems))
    raw = Raw(session)
    for institution, indicator, numerator, denominator, note in rows:
        reported = raw.first("SELECT COALESCE(SUM(numerator), 0), COALESCE(SUM(denominator), 0) FROM indicatorvalue "
                             "WHERE specialty = ? AND year = ? AND indicator_code = ? AND institution_code = ?",
                             [check.specialty, check.year, indicator, institution])
        problem = A.discrepancy((reported[0], reported[1]), (numerator, denominator), scales[indicator]) or ""
        existing = session.exec(select(SpotCheckResult).where(SpotCheckResult.spot_check_id == check.id,
                                                              SpotCheckResult.institution_code == institution,
                                                              SpotCheckResult.indicator_code == indicator)).first()
        values = dict(reported_numerator=reported[0], reported_denominator=reported[1], verified_numerator=numerator,
                      verified_denominator=denominator, discrepancy=problem, note=note, checked_by_id=actor.person_id,
                      checked_at=now)
        if existing is None:
            session.add(SpotCheckResult(spot_check_id=check.id, institution_code=institution, indicator_code=indicator,
                                        **values))
        else:
            for key, value in values.items():
                setattr(existing, key, value)
    session.flush()
    return show(session, check.id)


def show(session: Session, check_id: int) -> dict[str, Any]:
    check = session.get(SpotCheck, check_id)
    if check is None:
        raise UserError(f"没有编号为 {check_id} 的抽查")
    results = session.exec(select(SpotCheckResult).where(SpotCheckResult.spot_check_id == check.id)
                           .order_by(SpotCheckResult.institution_code, SpotCheckResult.indicator_code)).all()
    return {"id": check.id, "specialty": check.specialty, "year": check.year, "seed": check.seed, "size": check.size,
            "institutions": list(check.institutions), "drawn_at": check.drawn_at.isoformat(),
            "results": [{"institution": r.institution_code, "indicator": r.indicator_code,
                         "reported": [r.reported_numerator, r.reported_denominator],
                         "verified": [r.verified_numerator, r.verified_denominator],
                         "discrepancy": r.discrepancy, "note": r.note} for r in results],
            "discrepancies": sum(1 for r in results if r.discrepancy),
            "unchecked": sorted(set(check.institutions) - {r.institution_code for r in results})}
