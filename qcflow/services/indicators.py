"""Monitoring indicators (H3, Y§14): the dictionary, the analysis, guidance tasks for who falls short,
and the dashboard as each person may see it (Y§22).

`analysis(session, specialty, year)` is the interface the annual report (issue 13 part B) reads: per
indicator its code, name, unit, direction, overall rate, by city, by level, by institution
(numerator, denominator, rate or None), provincial and national means, the approved target, the
previous year's rate, and the flags. Rates are pooled (states/indicator_analysis.py).
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any, Optional, Union

from sqlalchemy import func, inspect
from sqlmodel import Session, select

from models import Center, IndicatorDefinition, IndicatorSet
from qcflow import engine
from qcflow.core.clock import utcnow
from qcflow.core.errors import UserError
from qcflow.core.safeload import load_yaml
from qcflow.store.raw import Raw
from states import indicator_analysis as A
from states.guidance import KIND as GUIDANCE, WORKFLOW as GUIDANCE_WORKFLOW, title_of

# The "city" of the analysis is the institution's area as the directory records it (Institution.county:
# 青川市本级, 临溪县 …): for a city commission its districts and counties, for a province its cities.
AREA_LABEL = "地区"


# --- specialties ------------------------------------------------------------------------------------

def center_of_specialty(session: Session, specialty: str) -> Optional[Center]:
    rows = session.exec(select(Center).where(Center.specialty == specialty).order_by(Center.id)).all()
    return next((c for c in rows if c.status == "active"), rows[0] if rows else None)


def known_specialties(session: Session) -> list[str]:
    with_data = {s for (s,) in Raw(session).rows("SELECT DISTINCT specialty FROM indicatorset")}
    return sorted(with_data)


def resolve_specialty(session: Session, text: str) -> str:
    """A specialty named by itself (心血管内科) or by its center's code (CARD)."""
    wanted = (text or "").strip()
    if not wanted:
        raise UserError("请用 --specialty 指定专业（例如 心血管内科，或质控中心代码 CARD）")
    center = session.exec(select(Center).where(func.upper(Center.code) == wanted.upper())).first()
    if center is not None:
        return center.specialty
    known = set(known_specialties(session)) | {c.specialty for c in session.exec(select(Center)).all()}
    if wanted in known:
        return wanted
    raise UserError(f"没有专业“{wanted}”；已有：{'、'.join(sorted(known)) or '（无）'}")


# --- the dictionary ---------------------------------------------------------------------------------

def load_dictionary(session: Session, path: Union[str, Path], now: Optional[datetime] = None) -> dict[str, Any]:
    """Load a dictionary YAML as the next version of its specialty and year; the same content again
    makes no new version. All or nothing; the caller commits."""
    path = Path(path)
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"找不到指标字典文件 {path}") from None
    except OSError as exc:
        raise UserError(f"无法读取指标字典文件 {path}：{exc.strerror}") from None
    clean, problems = A.parse_dictionary(load_yaml(content, f"指标字典 {path.name}"))
    if problems:
        raise UserError(f"指标字典 {path.name} 有误，未导入：\n  " + "\n  ".join(str(p) for p in problems))
    assert clean is not None
    checksum = hashlib.sha256(json.dumps(clean, ensure_ascii=False, sort_keys=True).encode()).hexdigest()
    latest = session.exec(select(IndicatorSet).where(IndicatorSet.specialty == clean["specialty"],
                                                     IndicatorSet.year == clean["year"])
                          .order_by(IndicatorSet.version.desc())).first()
    summary = {"specialty": clean["specialty"], "year": clean["year"], "indicators": len(clean["indicators"])}
    if latest is not None and latest.checksum == checksum:
        return {**summary, "version": latest.version, "new_version": False}
    version = (latest.version + 1) if latest else 1
    row = IndicatorSet(specialty=clean["specialty"], year=clean["year"], version=version, checksum=checksum,
                       source=path.name, loaded_at=now or utcnow())
    session.add(row)
    session.flush()
    session.add_all(IndicatorDefinition(set_id=row.id, position=n, **item)
                    for n, item in enumerate(clean["indicators"]))
    session.flush()
    return {**summary, "version": version, "new_version": True}


def dictionary(session: Session, specialty: str, year: int) -> Optional[A.Dictionary]:
    """The year's latest dictionary version, or None."""
    found = session.exec(select(IndicatorSet).where(IndicatorSet.specialty == specialty, IndicatorSet.year == year)
                         .order_by(IndicatorSet.version.desc())).first()
    if found is None:
        return None
    rows = session.exec(select(IndicatorDefinition).where(IndicatorDefinition.set_id == found.id)
                        .order_by(IndicatorDefinition.position)).all()
    return A.Dictionary(specialty, year, found.version, [
        A.Indicator(r.code, r.name, r.unit, r.direction, r.category, r.numerator, r.denominator, r.national_goal,
                    A.flag_rule_of(r.flag or {})) for r in rows])


def years_of(session: Session, specialty: str) -> list[int]:
    return sorted({y for (y,) in Raw(session).rows("SELECT DISTINCT year FROM indicatorset WHERE specialty = ?",
                                                   [specialty])}, reverse=True)


# --- the analysis -----------------------------------------------------------------------------------

def _places(session: Session) -> dict[str, A.Place]:
    return {code.upper(): A.Place(code.upper(), name, county or "未登记地区", level or "")
            for code, name, county, level in Raw(session).rows("SELECT code, name, county, level FROM institution")}


def _counts(session: Session, specialty: str, year: int) -> list[A.Count]:
    return [A.Count(code, inst, q, n, d) for code, inst, q, n, d in Raw(session).rows(
        "SELECT indicator_code, institution_code, quarter, numerator, denominator FROM indicatorvalue "
        "WHERE specialty = ? AND year = ?", [specialty, year])]


def _targets(session: Session, specialty: str, year: int) -> dict[str, float]:
    """Approved improvement targets (H1, part B's table), when that table exists."""
    if not inspect(session.connection()).has_table("improvementtarget"):
        return {}
    return {code: value for code, value in Raw(session).rows(
        "SELECT indicator_code, target_value FROM improvementtarget WHERE specialty = ? AND year = ?",
        [specialty, year])}


def _benchmarks(session: Session, specialty: str, year: int) -> dict[str, A.Benchmarks]:
    means: dict[str, dict[str, float]] = {}
    for code, scope, value in Raw(session).rows(
            "SELECT indicator_code, scope, value FROM indicatormean WHERE specialty = ? AND year = ?", [specialty, year]):
        means.setdefault(code, {})[scope] = value
    targets = _targets(session, specialty, year)
    return {code: A.Benchmarks(province=means.get(code, {}).get("province"),
                               national=means.get(code, {}).get("national"), target=targets.get(code))
            for code in set(means) | set(targets)}


def analysis(session: Session, specialty: str, year: int, city: Optional[str] = None,
             level: Optional[str] = None) -> dict[str, Any]:
    """The year's analysis of the specialty (see the module docstring); `city` / `level` narrow it to
    the institutions of one area / one level group (三级, 二级 …). Raises UserError without a dictionary."""
    found = dictionary(session, specialty, year)
    if found is None:
        years = "、".join(str(y) for y in years_of(session, specialty)) or "无"
        raise UserError(f"“{specialty}”没有 {year} 年的指标字典（已有年份：{years}）；"
                        f"请先导入：qcflow indicators dictionary load 文件")
    places = _places(session)
    if city:
        places = {k: p for k, p in places.items() if p.city == city}
    if level:
        places = {k: p for k, p in places.items() if A.level_group(p.level) == level}
    counts = _counts(session, specialty, year)
    indicators = A.analyse(found.indicators, counts, places, _benchmarks(session, specialty, year),
                           previous=_counts(session, specialty, year - 1))
    return {"specialty": specialty, "year": year, "dictionary_version": found.version, "city": city or "",
            "level": level or "", "quarters": sorted({c.quarter for c in counts}),
            "institutions_reporting": len({c.institution for c in counts if c.institution in places}),
            "indicators": indicators,
            "flags": sum(len(i["flags"]) for i in indicators)}


# --- guidance tasks ---------------------------------------------------------------------------------

def guidance_key(specialty: str, year: int, indicator: str, scope: str, subject: str) -> str:
    return f"guidance:{specialty}:{year}:{indicator}:{scope}:{subject}"


def open_guidance(session: Session, specialty: str, year: int, now: Optional[datetime] = None) -> dict[str, Any]:
    """A guidance task for the specialty's center per flag, with the numbers in its content. Once per
    flag: re-running the analysis opens none more (the case key holds the flag)."""
    now = now or utcnow()
    center = center_of_specialty(session, specialty)
    if center is None:
        raise UserError(f"专业“{specialty}”没有质控中心，专项指导任务无人承担；请先设置该专业的质控中心")
    result = analysis(session, specialty, year)
    opened, existing = [], []
    for indicator in result["indicators"]:
        for flag in indicator["flags"]:
            data = {"specialty": specialty, "year": year, "indicator": indicator["code"],
                    "indicator_name": indicator["name"], "unit": indicator["unit"],
                    "direction": indicator["direction"], "province_mean": indicator["province_mean"],
                    "national_mean": indicator["national_mean"], "target": indicator["target"],
                    "previous_rate": _previous_of(indicator, flag),
                    **{k: flag[k] for k in ("scope", "subject", "subject_name", "numerator", "denominator", "rate",
                                            "against", "benchmark", "gap", "rank", "message")},
                    "guidance": "", "follow_up": ""}
            key = guidance_key(specialty, year, indicator["code"], flag["scope"], flag["subject"])
            case = engine.open_case(session, GUIDANCE, center, title_of(data), data, key=key, now=now)
            (opened if case else existing).append({"key": key, "case_id": case.id if case else None,
                                                   "message": flag["message"]})
    return {"specialty": specialty, "year": year, "center": center.code, "opened": opened,
            "already_open": len(existing),
            "summary": f"{specialty} {year} 年：未达标 {len(opened) + len(existing)} 项，新开专项指导 {len(opened)} 项，"
                       f"此前已开 {len(existing)} 项"}


def _previous_of(indicator: dict[str, Any], flag: dict[str, Any]) -> Optional[float]:
    rows = indicator["by_institution"] if flag["scope"] == "institution" else indicator["by_city"]
    key = "code" if flag["scope"] == "institution" else "city"
    return next((r.get("previous_rate") for r in rows if r[key] == flag["subject"]), None)


def guidance_cases(session: Session, specialty: str, year: int) -> list[dict[str, Any]]:
    """The specialty's guidance tasks of the year, with their state (for the dashboard)."""
    prefix = f"guidance:{specialty}:{year}:"
    rows = Raw(session).rows('SELECT id, title, state, "key" FROM qc_case WHERE kind = ? AND "key" LIKE ? ORDER BY id',
                             [GUIDANCE, prefix + "%"])
    return [{"id": i, "title": t, "state": s, "state_label": GUIDANCE_WORKFLOW.state_label(s), "key": k} for i, t, s, k in rows]


# --- the dashboard (Y§22) ---------------------------------------------------------------------------

def dashboard(session: Session, person_id: Optional[int], specialty: Optional[str] = None,
              year: Optional[int] = None, city: Optional[str] = None, level: Optional[str] = None,
              unnamed: Optional[str] = None) -> dict[str, Any]:
    """The dashboard as this person may see it: `access` is privacy.indicator_access's answer; with
    "aggregates" institution rows and flags are removed and small groups withheld; with "none" no figures.
    `unnamed`: the access of a reader who gave no name, when the channel says otherwise (the command
    line, run by someone with access to the server, gets aggregates)."""
    from qcflow.services.access import reader_of
    from states import privacy

    specialties = known_specialties(session)
    chosen = resolve_specialty(session, specialty) if specialty else (specialties[0] if specialties else "")
    years = years_of(session, chosen) if chosen else []
    year = year or (years[0] if years else None)
    center = center_of_specialty(session, chosen) if chosen else None
    access = privacy.indicator_access(reader_of(session, person_id), center.id if center else None)
    if person_id is None and unnamed is not None:
        access = unnamed
    out: dict[str, Any] = {"specialties": specialties, "specialty": chosen, "years": years, "year": year,
                           "city": city or "", "level": level or "", "access": access,
                           "center": center.name if center else "", "levels": list(A.LEVEL_GROUPS) + [A.OTHER_LEVEL],
                           "cities": sorted({p.city for p in _places(session).values()}),
                           "analysis": None, "guidance": []}
    if access == privacy.INDICATOR_NONE or not chosen or year is None:
        return out
    result = analysis(session, chosen, year, city=city or None, level=level or None)
    if access != privacy.INDICATOR_INSTITUTIONS:
        result = {**result, "indicators": [A.aggregates_only(i) for i in result["indicators"]], "flags": 0}
    else:
        out["guidance"] = guidance_cases(session, chosen, year)
    out["analysis"] = result
    return out

