"""Load the directory (commission, institutions, people and roles, centers) from a YAML file.

Every fault is reported with the entry and line it sits on, and nothing is written unless the
whole file is valid. Loading the same file twice changes nothing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Optional

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from sqlmodel import Session, select

from models import Case, Center, Commission, Institution, Person
from qcflow.core import clock
from qcflow.core.errors import UserError
from qcflow.core.safeload import load_yaml
from states.rules import CENTER_ROLES, ROLE_LABELS
from qcflow.services.registry import KeptDecision, ListedPost, sync_directory_posts
from qcflow.services.roles import CENTER_ROLE, sync_directory_roles
from states.staffing import ROLES as POST_LABELS
from states.staffing import (ExpertCommittee, Member, Roster, check_expert_committee, check_reappointment,
                             check_roster, check_specialty_unique, county_level)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CATEGORIES = ("临床", "技术", "管理")


class DirectoryError(Exception):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class _LineLoader(yaml.SafeLoader):
    """Remembers the line each mapping starts on, so errors can point at it."""


def _mapping_with_line(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


def _date_as_text(loader: _LineLoader, node: yaml.ScalarNode) -> str:
    # Leave dates to pydantic: YAML's own parser raises a bare ValueError on 1972-02-30.
    return loader.construct_scalar(node)


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_line)
_LineLoader.add_constructor("tag:yaml.org,2002:timestamp", _date_as_text)


class CommissionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    organ_code: str


class InstitutionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str
    name: str
    level: str
    county: str = ""

    @field_validator("county")
    @classmethod
    def _county(cls, v: str) -> str:
        # Y§12 counts experts per county-level institution: a blank must not pass as "not county-level".
        if county_level(v) is None:
            raise ValueError("须填写所属县（县级机构填县名，如 临溪县；市级机构填 市本级），"
                             "用于核对同一县级机构专家不超过 1 名（Y§12）")
        return "".join(v.split())


class CenterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str
    name: str
    specialty: str
    category: str
    host: str
    status: str = "active"
    size_justification: str = ""  # recorded special circumstances for 19–20 members (Y§10)

    @field_validator("category")
    @classmethod
    def _category(cls, v: str) -> str:
        if v not in CATEGORIES:
            raise ValueError(f"类别应为 {'、'.join(CATEGORIES)} 之一")
        return v


class PersonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str
    name: str
    title: str = ""
    birth_date: Optional[date] = None
    institution: Optional[str] = None
    roles: list[str] = []
    # What Y§11–§12 and Y§26 judge for people holding a center post (center_director@CODE and so on).
    department_head: bool = False  # head of a department (科室/部门主任) or higher
    provincial_society_member: bool = False  # (former) member of a provincial society's specialty committee
    penalty_dates: list[date] = []  # disciplinary penalties by higher authorities
    title_exception: str = ""  # recorded reason a 中级 title is accepted (Y§12)
    group: str = ""  # sub-specialty group (亚专业质控小组)
    group_role: str = ""  # leader / deputy_leader / member
    director_term: int = 1  # the current term as director is the Nth consecutive one (Y§26)
    term_start: Optional[date] = None  # first day of the current term in the center posts (Y§26); default: the load day

    @field_validator("email")
    @classmethod
    def _email(cls, v: str) -> str:
        if not _EMAIL.match(v.strip()):
            raise ValueError("不是有效的邮箱地址")
        return v.strip().lower()


@dataclass
class LoadReport:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    # What the file says but a case decided otherwise, each in words a clerk can act on, with the article.
    kept: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(self.created.values()) or any(self.updated.values())

    def count(self, kind: str, created: bool) -> None:
        bucket = self.created if created else self.updated
        bucket[kind] = bucket.get(kind, 0) + 1


def _describe(err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        where = ".".join(str(x) for x in e["loc"]) or "条目"
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "missing":
            msg = "缺少此项"
        elif e["type"] == "extra_forbidden":
            msg = "未知字段（是否拼写有误？）"
        elif e["type"].startswith("date"):
            msg = "不是有效日期（格式：YYYY-MM-DD）"
        parts.append(f"{where}：{msg}")
    return "；".join(parts)


def parse(text: str, source: str = "名录文件", today: Optional[date] = None) -> dict[str, list[Any]]:
    """Validate a directory file; raise DirectoryError listing every fault."""
    try:
        raw = load_yaml(text, source, with_lines=True) or {}
    except UserError as exc:  # qcflow.core.safeload: the line and the broken limit
        raise DirectoryError([str(exc)]) from None
    if not isinstance(raw, dict):
        raise DirectoryError([f"{source}：顶层应为包含 commission、institutions、centers、people 的映射"])
    problems: list[str] = []
    out: dict[str, list[Any]] = {"commission": [], "institutions": [], "centers": [], "people": []}
    lines: dict[str, list[str]] = {"institutions": [], "centers": [], "people": []}
    schema = {"institutions": InstitutionIn, "centers": CenterIn, "people": PersonIn}
    if "commission" in raw:
        entry = raw["commission"]
        try:
            out["commission"].append(CommissionIn(**_strip(entry)))
        except (ValidationError, TypeError) as err:
            problems.append(f"第 {_line(entry)} 行 commission：{_err(err)}")
    for section, model in schema.items():
        entries = raw.get(section) or []
        if not isinstance(entries, list):
            problems.append(f"{section}：应为列表")
            continue
        for i, entry in enumerate(entries, 1):
            try:
                out[section].append(model(**_strip(entry)))
                lines[section].append(_line(entry))
            except (ValidationError, TypeError) as err:
                label = entry.get("email") or entry.get("code") or "" if isinstance(entry, dict) else ""
                problems.append(f"第 {_line(entry)} 行 {section} 第 {i} 条（{label}）：{_err(err)}")
    problems += _cross_check(raw, out, lines)
    problems += _expert_committee(out["people"], today or clock.today())
    if not problems:
        problems += _center_rosters(out, lines, today or clock.today())
    if problems:
        raise DirectoryError(problems)
    return out


def _expert_committee(people: list[PersonIn], today: date) -> list[str]:
    """The expert committee as listed must meet Y§7 (size, senior titles, age)."""
    experts = []
    for p in people:
        if "expert" not in p.roles:
            continue
        if p.birth_date is None:
            return [f"专家委员会委员 {p.name}（{p.email}）须填写出生日期（birth_date），以核对 Y§7 的年龄条件"]
        experts.append(Member(name=p.name, role="member", title=p.title, birth_date=p.birth_date,
                              institution_code=p.institution or "", institution_county_level=False,
                              department_head=False, penalty_dates=(), provincial_society_member=False))
    return [f"专家委员会：{reason}" for reason in check_expert_committee(ExpertCommittee(tuple(experts)), today)]


def _center_rosters(out: dict[str, list[Any]], lines: dict[str, list[str]], today: date) -> list[str]:
    """Y§8, Y§10–§12 and Y§26 on every center the file lists, as on a new one (Y§29): its people are
    those the file gives a center post, judged as if appointed on the day of the load."""
    problems: list[str] = []
    institutions = {i.code: i for i in out["institutions"]}
    people_line = dict(zip((p.email for p in out["people"]), lines["people"]))
    earlier: list[str] = []
    for line, c in zip(lines["centers"], out["centers"]):
        if c.status != "active":
            continue  # a center no longer at work has no roster to judge
        where = f"第 {line} 行 centers（{c.code}）"
        problems += [f"{where}：{r}" for r in check_specialty_unique(c.specialty, earlier)]
        earlier.append(c.specialty)
        members = []
        for p in out["people"]:
            posts = [role for role, _, center in (spec.partition("@") for spec in p.roles) if center == c.code]
            for role in posts:
                post = next(k for k, v in CENTER_ROLE.items() if v == role)
                if p.birth_date is None or p.institution is None:
                    problems.append(f"第 {people_line[p.email]} 行 people（{p.email}）：{p.name} 担任 {c.code} 的职务，"
                                    f"须填写出生日期（birth_date）和所在单位（institution），以核对 Y§10–§12")
                    continue
                members.append(Member(
                    name=p.name, role=post, title=p.title, birth_date=p.birth_date, institution_code=p.institution,
                    institution_county_level=county_level(institutions[p.institution].county)
                    if p.institution in institutions else None,
                    department_head=p.department_head, penalty_dates=tuple(p.penalty_dates),
                    provincial_society_member=p.provincial_society_member, title_exception=p.title_exception,
                    group=p.group, group_role=p.group_role))
                if post == "director":
                    problems += [f"{where}：主任 {p.name}（第 {people_line[p.email]} 行）{r}"
                                 for r in check_reappointment(max(p.director_term - 1, 0))]
        roster = Roster(c.specialty, c.host, tuple(members), c.size_justification)
        problems += [f"{where}：{r}" for r in check_roster(roster, today)]
    return problems


def _strip(entry: Any) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise TypeError("条目应为键值映射")
    return {k: v for k, v in entry.items() if k != "__line__"}


def _line(entry: Any) -> str:
    return str(entry.get("__line__", "?")) if isinstance(entry, dict) else "?"


def _err(err: Exception) -> str:
    return _describe(err) if isinstance(err, ValidationError) else str(err)


def _cross_check(raw: dict[str, Any], out: dict[str, list[Any]], lines: dict[str, list[str]]) -> list[str]:
    """Faults between entries; `lines[section][i]` is the line of `out[section][i]`."""
    problems: list[str] = []
    # References count entries that exist in the file even if they have faults of their own,
    # so one bad center does not also flag every person in it.
    def codes(section: str) -> set[str]:
        entries = raw.get(section)  # not a list: already reported as "应为列表"
        return {str(e.get("code")) for e in (entries if isinstance(entries, list) else []) if isinstance(e, dict)}

    institutions, centers = codes("institutions"), codes("centers")
    for section, key in (("institutions", "code"), ("centers", "code"), ("people", "email")):
        seen: set[str] = set()
        for line, item in zip(lines[section], out[section]):
            value = getattr(item, key)
            if value in seen:
                problems.append(f"第 {line} 行 {section}：{key} “{value}” 重复")
            seen.add(value)
    for line, c in zip(lines["centers"], out["centers"]):
        if c.host not in institutions:
            problems.append(f"第 {line} 行 centers（{c.code}）：挂靠单位“{c.host}”不在 institutions 中")
    for line, p in zip(lines["people"], out["people"]):
        where = f"第 {line} 行 people（{p.email}）"
        if p.institution and p.institution not in institutions:
            problems.append(f"{where}：所在单位“{p.institution}”不在 institutions 中")
        for role_spec in p.roles:
            role, _, center = role_spec.partition("@")
            if role not in ROLE_LABELS:
                problems.append(f"{where}：角色“{role}”无效，可用：{'、'.join(ROLE_LABELS)}")
            elif role in CENTER_ROLES and center not in centers:
                problems.append(f"{where}：角色“{role}”须写成 {role}@中心代码，且中心须在 centers 中（当前：“{center}”）")
            elif role not in CENTER_ROLES and center:
                problems.append(f"{where}：角色“{role}”属于卫健委，不应带中心代码")
    if not out["commission"] and "commission" not in raw:
        problems.append("缺少 commission（卫健委名称与发文机关代字）")
    return problems


def _upsert(session: Session, model: type, key: str, value: Any, fields: dict[str, Any],
            report: LoadReport, kind: str) -> Any:
    row = session.exec(select(model).where(getattr(model, key) == value)).first()
    if row is None:
        row = model(**{key: value, **fields})
        session.add(row)
        report.count(kind, created=True)
    elif any(getattr(row, k) != v for k, v in fields.items()):
        for k, v in fields.items():
            setattr(row, k, v)
        session.add(row)
        report.count(kind, created=False)
    session.flush()
    return row


def _specialties_already_taken(session: Session, parsed: dict[str, list[Any]]) -> list[str]:
    """Y§8 against the active centers the file does not list (e.g. one established by an application)."""
    listed = {c.code for c in parsed["centers"]}
    others = [c.specialty for c in session.exec(select(Center).where(Center.status == "active"))
              if c.code not in listed]
    return [f"centers（{c.code}）：{r}" for c in parsed["centers"] for r in check_specialty_unique(c.specialty, others)]


def apply(session: Session, parsed: dict[str, list[Any]]) -> LoadReport:
    if problems := _specialties_already_taken(session, parsed):
        raise DirectoryError(problems)
    report = LoadReport()
    for c in parsed["commission"]:
        existing = session.exec(select(Commission)).first()
        _upsert(session, Commission, "id", existing.id if existing else None,
                {"name": c.name, "organ_code": c.organ_code}, report, "commission")
    inst_ids = {}
    for i in parsed["institutions"]:
        row = _upsert(session, Institution, "code", i.code, {"name": i.name, "level": i.level, "county": i.county},
                      report, "institutions")
        inst_ids[i.code] = row.id
    for row in session.exec(select(Institution)).all():
        inst_ids.setdefault(row.code, row.id)
    center_ids = {}
    revoked: set[int] = set()
    for c in parsed["centers"]:
        existing = session.exec(select(Center).where(Center.code == c.code)).first()
        # A revocation is the commission's decision (Y§26), recorded in its case: a file never undoes it.
        status = "revoked" if existing is not None and existing.status == "revoked" else c.status
        if status != c.status:
            report.kept.append(f"{c.code} 的挂靠资格已由卫健委撤销（Y§26），名录文件中的状态“{c.status}”未采用，"
                               f"其人员职务不从名录恢复")
        host_id = inst_ids[c.host]
        if existing is not None and (changed := _host_changed_by_case(session, existing)) is not None:
            case, decided_host = changed
            if decided_host != host_id:
                report.kept.append(f"{c.code} 的挂靠单位已由卫健委变更为{case.data.get('new_host_name') or ''}"
                                   f"（Y§27，挂靠单位变更交接事项 #{case.id}），名录文件中的 {c.host} 未采用")
                host_id = decided_host
        row = _upsert(session, Center, "code", c.code, {
            "name": c.name, "specialty": c.specialty, "category": c.category,
            "host_institution_id": host_id, "status": status}, report, "centers")
        center_ids[c.code] = row.id
        if status == "revoked":
            revoked.add(row.id)
    center_codes = {v: k for k, v in center_ids.items()}
    for p in parsed["people"]:
        person = _upsert(session, Person, "email", p.email, {
            "name": p.name, "title": p.title, "birth_date": p.birth_date,
            "institution_id": inst_ids.get(p.institution) if p.institution else None}, report, "people")
        wanted = set()
        for spec in p.roles:
            role, _, center = spec.partition("@")
            center_id = center_ids.get(center) if center else None
            if center_id not in revoked:  # no post at a revoked center comes back from the file
                wanted.add((role, center_id))
        listed = _listed_posts(p, wanted)
        posts = sync_directory_posts(session, person.id, listed, clock.today(), frozenset(revoked))  # terms (Y§26)
        for kept in posts.kept:
            report.kept.append(_kept_text(p.name, center_codes.get(kept.center_id, ""), kept))
            if kept.ended_on is not None:  # the post stays ended, so its role is not the file's to give back
                wanted.discard((CENTER_ROLE[kept.post], kept.center_id))
        added, removed = sync_directory_roles(session, person.id, wanted)
        for _ in range(added):
            report.count("roles", created=True)
        for _ in range(removed):
            report.count("roles", created=False)
    session.flush()
    return report


def _host_changed_by_case(session: Session, center: Center) -> Optional[tuple[Case, int]]:
    """The commission's latest host change (Y§27), owned by its handover case: (case, new host's id)."""
    case = session.exec(select(Case).where(Case.kind == "handover", Case.center_id == center.id)
                        .order_by(Case.id.desc())).first()
    if case is None:
        return None
    host = session.exec(select(Institution).where(Institution.code == str(case.data.get("new_host")))).first()
    return (case, host.id) if host is not None else None


def _kept_text(name: str, center_code: str, kept: KeptDecision) -> str:
    post = POST_LABELS.get(kept.post, kept.post)
    if kept.ended_on is None:
        return f"{name} 的 {center_code} {post}职务{kept.reason}（{kept.article}），名录文件中的任期起始日未采用"
    return (f"{name} 的 {center_code} {post}职务已于 {kept.ended_on.isoformat()} 终止（{kept.reason}，{kept.article}），"
            f"名录文件仍列其为{post}，未重新任命；如需任命，请通过卫健委的事项办理")


def _listed_posts(p: PersonIn, wanted: set[tuple[str, Optional[int]]]) -> list[ListedPost]:
    """The center posts the file gives the person, each to be held as an appointment with a term (Y§26)."""
    post_of = {role: post for post, role in CENTER_ROLE.items()}
    return [ListedPost(post_of[role], center_id, p.term_start, max(p.director_term, 1), p.group, p.group_role,
                       p.department_head, p.provincial_society_member, p.title_exception)
            for role, center_id in sorted(wanted, key=str) if role in post_of and center_id is not None]


def load_file(session: Session, path: Path) -> LoadReport:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise DirectoryError([f"无法读取名录文件 {path}：{exc.strerror}"]) from None
    except UnicodeDecodeError:
        raise DirectoryError([f"名录文件 {path} 不是 UTF-8 编码；请另存为 UTF-8 后重试"]) from None
    return apply(session, parse(text, source=str(path)))
