"""What a person may start: new cases, death reports, meeting records and roster changes.

Each answer comes from the rule that judges the real attempt (the workflow's creators for a case,
Y§22's import rule for deaths, Y§19 for meetings, Y§4 for roster changes), asked for each center or
hospital the person could name; the page only lists what these rules allow, and the attempt is
judged again when it is made.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from sqlmodel import Session

from qcflow.services.access import reader_of
from qcflow.store.raw import Raw
from states.death_review import may_import
from states.meetings import may_record
from states.registry import WORKFLOWS
from states.roster import may_change
from states.rules import Reason


@dataclass(frozen=True)
class Start:
    """One thing the person may start, and where (centers or hospitals as (code, name))."""

    slug: str  # the page: /new/{slug}
    label: str
    summary: str
    rule: str
    centers: tuple[tuple[str, str], ...] = ()
    hospitals: tuple[tuple[str, str], ...] = ()


@dataclass
class Starts:
    allowed: dict[str, Start] = field(default_factory=dict)
    refused: dict[str, tuple[str, list[Reason]]] = field(default_factory=dict)  # slug -> (label, why not)


KINDS = {
    "document": ("公文（发文审核）", "中心拟稿，卫健委审核、签发后由卫健委印发", "Y§18"),
    "application": ("质控中心设置申请", "填写拟设中心和成员名单，上传 Y§9 申请材料", "Y§9"),
    "death": ("死亡病例（单例报告）", "按表单报告一例死亡病例；患者姓名、身份证号只保存为不可逆的标识", "H5"),
    "death_file": ("死亡病例（批量导入）", "上传医院系统导出的 CSV 或 Excel 文件，逐行检查后导入", "H5"),
    "meeting": ("会议、培训记录", "登记成员工作会议、培训或调度会议及会议纪要", "Y§19"),
    "roster": ("质控中心人员调整", "新增、移出人员或调整职务，按 Y§10–§12 检查", "Y§10"),
}


def _centers(raw: Raw) -> list[tuple[int, str, str]]:
    return [tuple(r) for r in raw.rows("SELECT id, code, name FROM center WHERE status = 'active' ORDER BY code")]


def institutions(session: Session) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in Raw(session).rows("SELECT code, name FROM institution ORDER BY code")]


def startable(session: Session, person_id: Optional[int]) -> Starts:
    """Every kind the person may start now, with where; and for the others, the rule that says no."""
    reader = reader_of(session, person_id)
    out = Starts()
    if reader.anonymous:
        return out
    actor = reader.actor
    raw = Raw(session)
    centers = _centers(raw)

    def put(slug: str, reasons: list[Reason], **where) -> None:
        label, summary, rule = KINDS[slug]
        if reasons:
            out.refused[slug] = (label, reasons)
        else:
            out.allowed[slug] = Start(slug, label, summary, rule, **where)

    document = WORKFLOWS["document"]
    doc_centers = tuple((code, name) for cid, code, name in centers if not document.check_create(actor, cid))
    put("document", [] if doc_centers else document.check_create(actor, None), centers=doc_centers)
    put("application", WORKFLOWS["application"].check_create(actor, None))

    commission = actor.holds("commission_reviewer")  # as check_may_import asks it
    hospitals = tuple((code, name) for code, name in institutions(session)
                      if not may_import(commission, reader.institution or None, code))
    refusal = [] if hospitals else may_import(commission, reader.institution or None, "（任一医院）")
    put("death", refusal, hospitals=hospitals)
    put("death_file", refusal, hospitals=hospitals)

    meeting_centers = tuple((code, name) for cid, code, name in centers if not may_record(actor, cid, name))
    put("meeting", [] if meeting_centers else may_record(actor, -1, "任何质控中心"), centers=meeting_centers)
    put("roster", may_change(actor), centers=tuple((code, name) for _, code, name in centers))
    return out
