"""H2: the must-know compendium — draft files, publication as an immutable version, the public
reads, and study records that feed the assessment evidence."""
from __future__ import annotations

import hashlib
import mimetypes
from datetime import datetime
from typing import Any, Optional

from sqlalchemy import func
from sqlmodel import Session, select

from models import Attachment, Case, Center, Person
from models.compendium import CompendiumFile, CompendiumStudy, CompendiumVersion
from qcflow import engine
from qcflow.core.clock import local_date, utcnow
from qcflow.core.errors import UserError
from qcflow.engine import plugins
from qcflow.services.applications import files_dir
from qcflow.services.evidence import Evidence, register_source
from states.compendium import AUTHORS, PARTS, RULE, files_named
from states.rules import Reason, Refused

KIND = "compendium"
SLOT = "compendium"
MAX_FILE_BYTES = 20 * 1024 * 1024


def _attached(session: Session, case_id: int) -> dict[str, Attachment]:
    rows = session.exec(select(Attachment).where(Attachment.case_id == case_id, Attachment.slot == SLOT)
                        .order_by(Attachment.id)).all()
    return {row.filename: row for row in rows}  # a later upload of the same name replaces the earlier


@plugins.provides_facts(KIND)
def compendium_facts(session: Session, case: Case, data: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {"attached_files": sorted(_attached(session, case.id))}


def attach(session: Session, case_id: int, email: str, filename: str, content: bytes,
           now: Optional[datetime] = None) -> dict[str, Any]:
    """Upload a file an item names (only while the center drafts it)."""
    case = engine.load_case(session, KIND, case_id, lock=True)
    actor = engine.actor_by_email(session, email)
    if not any(actor.holds(role, case.center_id) for role in AUTHORS):
        raise Refused([Reason(RULE, f"只有本中心主任或秘书可以上传应知应会附件，{actor.name}没有此权限")])
    if case.state not in ("draft", "returned"):
        raise Refused([Reason(RULE, "只有编写中或退回修改的应知应会可以上传附件；已报送或已发布的版本不可更改")])
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not name or not content:
        raise UserError("附件须有文件名和内容（空文件不能上传）")
    if len(content) > MAX_FILE_BYTES:
        raise UserError(f"附件 {name} 有 {len(content) // (1024 * 1024)} MB，超过 20 MB 上限")
    digest = hashlib.sha256(content).hexdigest()
    folder = files_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / digest).write_bytes(content)
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    session.add(Attachment(case_id=case.id, slot=SLOT, filename=name, content_type=kind, size=len(content),
                           sha256=digest, uploaded_by_id=actor.person_id, uploaded_at=now or utcnow()))
    session.flush()
    return {"case_id": case.id, "file": name, "size": len(content), "sha256": digest}


def _published_text(data: dict[str, Any]) -> str:
    lines = [str(data.get("title") or "")]
    for part, label in PARTS.items():
        lines.append(label)
        lines += [f"{item.get('title', '')}｜{item.get('source', '')}｜{item.get('file', '') or ''}"
                  for item in data.get(part) or []]
    return "\n".join(lines)


@plugins.effect("publish_compendium")
def publish(session: Session, case: Case, now: datetime) -> CompendiumVersion:
    """The next version of the specialty's compendium, with its files copied in: never changed after."""
    center = session.get(Center, case.center_id)
    latest = session.exec(select(func.max(CompendiumVersion.version))
                          .where(CompendiumVersion.specialty == center.specialty)).one()
    row = CompendiumVersion(case_id=case.id, specialty=center.specialty, version=(latest or 0) + 1,
                            title=str(case.data.get("title") or ""), common=list(case.data.get("common") or []),
                            special=list(case.data.get("special") or []),
                            sha256=hashlib.sha256(_published_text(case.data).encode()).hexdigest(), published_at=now)
    session.add(row)
    session.flush()
    attached = _attached(session, case.id)
    for name in files_named(case.data):
        meta = attached[name]
        session.add(CompendiumFile(version_id=row.id, name=name, content_type=meta.content_type, sha256=meta.sha256,
                                   content=(files_dir() / meta.sha256).read_bytes()))
    session.flush()
    return row


# --- public reads ------------------------------------------------------------------------------------

def _version_dict(row: CompendiumVersion, files: list[CompendiumFile], studies: int) -> dict[str, Any]:
    sizes = {f.name: len(f.content) for f in files}
    def items(rows: list[Any]) -> list[dict[str, Any]]:
        return [{"title": r.get("title", ""), "source": r.get("source", ""), "file": r.get("file") or "",
                 "size": sizes.get(r.get("file") or "")} for r in rows]
    return {"id": row.id, "specialty": row.specialty, "version": row.version, "title": row.title,
            "common": items(row.common), "special": items(row.special), "sha256": row.sha256,
            "published_at": row.published_at, "published_on": local_date(row.published_at).isoformat(),
            "studies": studies}


def published(session: Session, specialty: str) -> list[dict[str, Any]]:
    """Every published version of the specialty, newest first (the public page shows nothing else)."""
    rows = session.exec(select(CompendiumVersion).where(CompendiumVersion.specialty == specialty)
                        .order_by(CompendiumVersion.version.desc())).all()
    out = []
    for row in rows:
        files = session.exec(select(CompendiumFile).where(CompendiumFile.version_id == row.id)).all()
        count = session.exec(select(func.count()).select_from(CompendiumStudy)
                             .where(CompendiumStudy.version_id == row.id)).one()
        out.append(_version_dict(row, list(files), count))
    return out


def published_file(session: Session, specialty: str, version: int, name: str) -> CompendiumFile:
    found = session.exec(select(CompendiumFile).join(CompendiumVersion, CompendiumFile.version_id == CompendiumVersion.id)
                         .where(CompendiumVersion.specialty == specialty, CompendiumVersion.version == version,
                                CompendiumFile.name == name)).first()
    if found is None:
        raise UserError(f"{specialty}应知应会第 {version} 版没有名为“{name}”的附件")
    return found


def record_study(session: Session, person_id: int, specialty: str, version: int,
                 now: Optional[datetime] = None) -> dict[str, Any]:
    """A signed-in person records that they studied a version; once per person and version (H2)."""
    row = session.exec(select(CompendiumVersion).where(CompendiumVersion.specialty == specialty,
                                                       CompendiumVersion.version == version)).first()
    if row is None:
        raise UserError(f"{specialty}应知应会没有已发布的第 {version} 版")
    person = session.get(Person, person_id)
    if person is None:
        raise UserError("人员名录中没有此人；请先登录")
    existing = session.exec(select(CompendiumStudy).where(CompendiumStudy.version_id == row.id,
                                                          CompendiumStudy.person_id == person_id)).first()
    if existing is None:
        session.add(CompendiumStudy(version_id=row.id, person_id=person_id, institution_id=person.institution_id,
                                    studied_at=now or utcnow()))
        session.flush()
    return {"version": version, "already": existing is not None, "studies": study_count(session, specialty)}


def study_count(session: Session, specialty: str, year: Optional[int] = None) -> int:
    """People who recorded studying a published version of the specialty (in a local year when given)."""
    rows = session.exec(select(CompendiumStudy.person_id, CompendiumStudy.studied_at)
                        .join(CompendiumVersion, CompendiumStudy.version_id == CompendiumVersion.id)
                        .where(CompendiumVersion.specialty == specialty)).all()
    return len({pid for pid, at in rows if year is None or local_date(at).year == year})


def _evidence(session: Session, center: Center, year: int) -> list[Evidence]:
    """Rubric item 4 (training by count, effect, attendance): each version published in the year and
    how many people recorded studying the specialty's compendium in it (H2: folded into 述职评价)."""
    out = []
    for version in published(session, center.specialty):
        if local_date(version["published_at"]).year == year:
            out.append(Evidence(f"{version['title']}（第 {version['version']} 版）",
                                f"/compendium/{center.specialty}", "已发布，公开下载"))
    studied = study_count(session, center.specialty, year)
    if out or studied:
        out.append(Evidence(f"{year} 年学习记录 {studied} 人", f"/compendium/{center.specialty}",
                            "医疗机构人员登录后记录的学习人数"))
    return out


register_source("4", "应知应会发布与学习（H2）", _evidence)
