"""Application cases: the directory facts their rules need, and uploading their materials."""
from __future__ import annotations

import hashlib
from datetime import date, datetime
from pathlib import Path
from typing import Any, Optional

from sqlmodel import Session, select

from models import Case, Center, Deadline, Institution, Person, RoleAssignment
from models.registry import Appointment, Attachment
from qcflow import engine
from qcflow.engine import plugins
from qcflow.core.clock import local_date, utcnow
from qcflow.core.errors import UserError
from qcflow.core.runtime import get_settings
from states import materials
from states.rules import Reason, Refused
from states.staffing import Applicant, Member, Roster, county_level, specialty_key


def is_county_level(institution: Institution) -> Optional[bool]:
    """Y§12: None when the institution's county is blank (refused by the rules, never "not county-level")."""
    return county_level(institution.county)


def director_terms(session: Session, person_id: int, specialty: str) -> list[tuple[date, date]]:
    """Y§26: the person's terms as director of a center of this specialty (however its name is spelt),
    each until it ended early or ran out."""
    key = specialty_key(specialty)
    rows = session.exec(select(Appointment, Center).join(Center, Center.id == Appointment.center_id)
                        .where(Appointment.person_id == person_id, Appointment.role == "director")).all()
    return [(a.term_start, a.ended_on or a.term_end) for a, c in rows if specialty_key(c.specialty) == key]


def _dates(values: Any, what: str, problems: list[str]) -> tuple[date, ...]:
    out = []
    for value in values or []:
        try:
            out.append(value if isinstance(value, date) else date.fromisoformat(str(value)))
        except ValueError:
            problems.append(f"{what}中的日期“{value}”无效（格式 YYYY-MM-DD）")
    return tuple(out)


def member_from(person: Person, institution: Optional[Institution], entry: dict[str, Any],
                problems: list[str]) -> Member:
    """A roster entry as the staffing rules see it: the directory's facts plus what the entry records."""
    return Member(
        name=person.name, role=str(entry.get("role", "")), title=person.title, birth_date=person.birth_date,
        institution_code=institution.code if institution else "",
        institution_county_level=is_county_level(institution) if institution else None,
        department_head=bool(entry.get("department_head", False)),
        penalty_dates=_dates(entry.get("penalty_dates"), f"{person.name}的处罚记录", problems),
        provincial_society_member=bool(entry.get("provincial_society_member", False)),
        title_exception=str(entry.get("title_exception") or ""),
        group=str(entry.get("group") or ""), group_role=str(entry.get("group_role") or ""),
    )


@plugins.provides_facts("application")
def application_facts(session: Session, case: Case, data: dict[str, Any], now: datetime) -> dict[str, Any]:
    today = local_date(now)
    problems: list[str] = []
    institutions = {i.id: i for i in session.exec(select(Institution)).all()}
    by_code = {i.code: i for i in institutions.values()}
    host = by_code.get(str(data.get("host") or ""))
    if host is None:
        problems.append(f"申请单位代码“{data.get('host')}”不在名录的 institutions 中")
    emails = [str(e.get("email", "")).strip().lower() for e in data.get("roster", []) if isinstance(e, dict)]
    people = {p.email: p for p in session.exec(select(Person).where(Person.email.in_(emails))).all()} if emails else {}
    members = []
    director = None
    for entry in data.get("roster", []):
        if not isinstance(entry, dict):
            continue
        email = str(entry.get("email", "")).strip().lower()
        person = people.get(email)
        if person is None:
            problems.append(f"成员 {email} 不在人员名录中，请先在名录中登记其职称、出生日期和单位")
            continue
        if person.birth_date is None:
            problems.append(f"成员 {person.name}（{email}）在名录中缺少出生日期")
            continue
        members.append(member_from(person, institutions.get(person.institution_id), entry, problems))
        if entry.get("role") == "director":
            director = {"name": person.name,
                        "terms": director_terms(session, person.id, str(data.get("specialty") or ""))}
    experts = session.exec(select(Person, RoleAssignment).join(RoleAssignment, RoleAssignment.person_id == Person.id)
                           .where(RoleAssignment.role == "expert")).all()
    pool = {p.email: {"person_id": p.id, "name": p.name,
                      "institution": institutions[p.institution_id].code if p.institution_id in institutions else ""}
            for p, _ in experts}
    assigned = [{"email": e, **pool[e]} for e in (str(x).lower() for x in data.get("experts", [])) if e in pool]
    review_deadline = session.exec(select(Deadline).where(Deadline.case_id == case.id, Deadline.step == "expert_review",
                                                          Deadline.closed_at.is_(None))).first()
    return {
        "today": today,
        "director": director,
        "roster_problems": problems,
        "roster": Roster(str(data.get("specialty", "")), host.code if host else "", tuple(members),
                         str(data.get("size_justification") or "")) if members else None,
        "applicant": Applicant(host.code, host.level, str(data.get("special_center_reason") or ""),
                               _dates(data.get("major_incident_dates"), "重大医疗质量安全事件", problems))
        if host else None,
        "existing_specialties": {c.specialty for c in session.exec(select(Center).where(Center.status == "active"))},
        "center_code_taken": session.exec(select(Center.id).where(Center.code == str(data.get("center_code")))).first()
        is not None,
        "expert_pool": pool,
        "assigned_experts": assigned,
        "review_deadline_passed": bool(review_deadline and review_deadline.due_at < now),
    }


def files_dir() -> Path:
    return get_settings().data_dir / "files"


def attach_file(session: Session, case_id: int, slot: str, content: bytes, filename: str, email: str,
                now: Optional[datetime] = None) -> Attachment:
    """Store one material file on an application (Y§9). Refused uploads store nothing."""
    content_type = materials.sniff(content[:16])
    reasons = materials.check_upload(slot, filename, len(content), content_type)
    if reasons:
        raise Refused(reasons)
    digest = hashlib.sha256(content).hexdigest()
    meta = {"filename": filename, "sha256": digest, "size": len(content), "content_type": content_type}
    result = engine.fire(session, "application", case_id, "attach", email=email, changes={"materials": {slot: meta}},
                         now=now)
    target = files_dir() / digest[:2] / digest
    if not target.exists():  # content-addressed: a rollback leaves at most an unreferenced file
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".part")
        tmp.write_bytes(content)
        tmp.replace(target)
    row = Attachment(case_id=case_id, slot=slot, filename=filename, content_type=content_type, size=len(content),
                     sha256=digest, uploaded_by_id=result.case.created_by_id, uploaded_at=now or utcnow())
    session.add(row)
    session.flush()
    return row


def read_upload(path: Path, limit: int = materials.MAX_BYTES.value) -> bytes:
    """Read a file to upload without loading more than the limit allows."""
    try:
        with open(path, "rb") as fh:
            content = fh.read(limit + 1)
    except OSError as exc:
        raise UserError(f"无法读取文件 {path}：{exc.strerror}") from None
    if len(content) > limit:
        raise Refused([Reason(materials.RULE, f"文件“{Path(path).name}”超过 {limit // 1048576} MB 上限")])
    return content
