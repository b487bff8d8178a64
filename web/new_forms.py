"""The fields of the new-case forms, generated from what the rules declare (a workflow's fields and
their kinds in states/validation.py, the death file's columns, the roster change's shape), and the
way back: what a person typed, as the content the services judge, and each refusal placed beside
the field it is about. Presentation only; every check is the service's."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Optional

from states.application import APPLICANT_SET_DATES, CATEGORIES
from states.death_intake import ADVERSE_GRADES, FIELD_LABELS, REQUIRED_FIELDS
from states.document import DOC_KINDS
from states.meetings import MEETING_KINDS
from states.registry import WORKFLOWS
from states.rules import Reason
from states.staffing import ROLES
from states.validation import EXTRA_FIELDS, ROSTER_CHANGE, Field
from states.workflow import Input
from web.forms import entered


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    kind: str = "text"  # text | textarea | lines | select | date | number | table
    options: tuple[tuple[str, str], ...] = ()  # select: (value, label); table: (column, label)
    hint: str = ""
    required: bool = False


YES_NO = (("", "（未填）"), ("是", "是"), ("否", "否"))
ROLE_HINT = "职务：" + "、".join(f"{label}" for label in ROLES.values())
# Roster rows: the columns the staffing rules read for each person (Y§10–§12).
ROSTER_COLUMNS = (("email", "邮箱"), ("role", "职务"), ("department_head", "科主任及以上（是/否）"),
                  ("provincial_society_member", "省级学会委员（是/否）"))
_FLAG_COLUMNS = ("department_head", "provincial_society_member")
_CHOICE_LABELS = {"doc_kind": DOC_KINDS, "category": {c: c for c in CATEGORIES}}
_LONG_TEXT = {"body", "minutes", "reason", "size_justification", "special_center_reason"}
_HINTS = {
    "recipients": "每行一位：姓名 | 邮箱，例如  青川市第一人民医院医务科 | yiwu@qch1.example",
    "roster": "每行一人：邮箱 | 职务 | 科主任及以上（是/否）| 省级学会委员（是/否）。" + ROLE_HINT,
    "center_code": "大写字母，如 RESP",
}


def _from_spec(name: str, spec: Field, required: bool = True) -> FormField:
    if spec.kind == "choice":
        labels = _CHOICE_LABELS.get(name, {})
        options = tuple((v, labels.get(v, v)) for v in spec.options)
        return FormField(name, spec.label, "select", (("", "请选择"), *options), required=required)
    if spec.kind in ("records", "table"):
        columns = ROSTER_COLUMNS if name == "roster" else tuple((c, c) for c in spec.options)
        hint = _HINTS.get(name) or "每行一项：" + " | ".join(label for _, label in columns)
        return FormField(name, spec.label, "table", columns, hint, required)
    if spec.kind == "lines":
        return FormField(name, spec.label, "lines", hint="每行一项", required=required)
    kind = {"date": "date", "number": "number"}.get(spec.kind, "textarea" if name in _LONG_TEXT else "text")
    return FormField(name, spec.label, kind, hint=_HINTS.get(name, ""), required=required)


def case_fields(kind: str, choices: Optional[dict[str, tuple[tuple[str, str], ...]]] = None) -> list[FormField]:
    """What a new case of this kind is made of: the workflow's edited fields and the content fields the
    rules read (states/validation.EXTRA_FIELDS), less what later steps enter (inputs) and what the
    applicant may not set (Y§11: the appointment date is the commission's). `choices` turns a text
    field into a list to pick from (e.g. the directory's institutions for the host)."""
    choices = {"category": tuple((c, c) for c in CATEGORIES), **(choices or {})}
    workflow = WORKFLOWS[kind]
    later = {item.name for t in workflow.transitions.values() for item in t.inputs}
    specs = {name: Field(label) for name, label in workflow.fields.items()}
    specs.update(EXTRA_FIELDS.get(kind, {}))
    out = [_from_spec(name, spec) for name, spec in specs.items()
           if name not in later and name not in APPLICANT_SET_DATES and spec.kind != "mapping"]
    out = [replace(f, kind="select", options=(("", "请选择"), *choices[f.name])) if f.name in choices else f
           for f in out]
    if kind == "application":
        out += [FormField("size_justification", "成员超过 18 人的理由（Y§10，不超过可不填）", "textarea"),
                FormField("special_center_reason", "非三级甲等综合医院挂靠的理由（Y§8，特殊中心填写）", "textarea")]
    return _ordered(kind, out)


def _ordered(kind: str, fields: list[FormField]) -> list[FormField]:
    order = {"document": ["doc_kind", "title", "body", "recipients"]}.get(kind)
    if not order:
        return fields
    return sorted(fields, key=lambda f: order.index(f.name) if f.name in order else len(order))


def death_fields() -> list[FormField]:
    """One death, with the columns of a hospital's export (states/death_intake.FIELD_LABELS)."""
    kinds = {"admitted_on": "date", "died_on": "date", "birth_date": "date"}
    out = []
    for name, label in FIELD_LABELS.items():
        if name in ("autopsy", "low_risk"):
            out.append(FormField(name, label, "select", YES_NO if name == "low_risk" else YES_NO[1:]))
        elif name == "adverse_grade":
            out.append(FormField(name, label, "select", (("", "无"), *((g, f"{g} 级 {n}") for g, n in ADVERSE_GRADES.items()))))
        else:
            hint = "只用于生成不可逆的患者标识，不保存（Y§22）" if name in ("patient_name", "id_number", "birth_date") else ""
            out.append(FormField(name, label, kinds.get(name, "text"), hint=hint, required=name in REQUIRED_FIELDS))
    return out


def meeting_fields() -> list[FormField]:
    """A meeting record as states/meetings.clean_meeting reads it."""
    return [
        FormField("kind", "会议类型", "select", (("", "请选择"), *((k, v.label) for k, v in MEETING_KINDS.items())),
                  required=True),
        FormField("held_on", "召开日期", "date", required=True),
        FormField("title", "会议名称", required=True),
        FormField("attendees", "参会人员", "table", (("name", "姓名"), ("title", "职称"), ("institution", "单位")),
                  "每行一人：姓名 | 职称 | 单位", required=True),
        FormField("minutes", "会议纪要", "textarea"),
    ]


def roster_fields() -> list[FormField]:
    """A roster change as states/validation.ROSTER_CHANGE declares it."""
    out = []
    for name, spec in ROSTER_CHANGE.items():
        field = _from_spec(name, spec, required=name == "reason")
        if name == "add":
            field = replace(field, options=ROSTER_COLUMNS, hint=_HINTS["roster"])
        elif name == "change_role":
            field = replace(field, options=(("email", "邮箱"), ("role", "新职务")), hint="每行一人：邮箱 | 新职务。" + ROLE_HINT)
        elif name == "remove":
            field = replace(field, hint="每行一个邮箱")
        out.append(field)
    return out


# --- what was typed, as content ----------------------------------------------------------------------

_ROLE_CODES = {**{label: code for code, label in ROLES.items()}, **{code: code for code in ROLES}}
_YES = {"是": True, "否": False, "y": True, "n": False, "yes": True, "no": False, "true": True, "false": False}


def content_of(fields: list[FormField], form: dict[str, str]) -> dict[str, Any]:
    """The form as content: table rows become dicts, role labels their codes, 是/否 yes/no; empty
    optional fields are left out."""
    out: dict[str, Any] = {}
    for f in fields:
        value = form.get(f.name, "")
        if f.kind == "table":
            rows = entered(Input(f.name, f.label, "table", f.options), value)
            out[f.name] = [_typed_row(row) for row in rows]
        elif f.kind == "lines":
            out[f.name] = [line.strip() for line in value.splitlines() if line.strip()]
        elif value.strip() or f.required:
            out[f.name] = value.strip()
    return {k: v for k, v in out.items() if v not in ([], "") or _required(fields, k)}


def _required(fields: list[FormField], name: str) -> bool:
    return any(f.name == name and f.required for f in fields)


def _typed_row(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if v not in ("", None)}
    if "role" in out:
        out["role"] = _ROLE_CODES.get(str(out["role"]).strip(), out["role"])
    for column in _FLAG_COLUMNS:
        if column in out:
            out[column] = _YES.get(str(out[column]).strip().lower(), out[column])
    return out


def form_text(fields: list[FormField], content: dict[str, Any]) -> dict[str, str]:
    """Content back as the form shows it (to refill a form)."""
    out = {}
    for f in fields:
        value = content.get(f.name)
        if f.kind == "table" and isinstance(value, list):
            out[f.name] = "\n".join(" | ".join(str(row.get(c, "")) for c, _ in f.options) for row in value
                                    if isinstance(row, dict))
        elif isinstance(value, list):
            out[f.name] = "\n".join(str(v) for v in value)
        elif value is not None:
            out[f.name] = str(value)
    return out


# --- refusals beside their fields ---------------------------------------------------------------------

def placed(reasons: list[Reason], fields: list[FormField]) -> tuple[dict[str, list[Reason]], list[Reason]]:
    """Each reason beside the field it names (by its code in （…）, else by its label), the rest on top."""
    by_field: dict[str, list[Reason]] = {}
    general: list[Reason] = []
    for reason in reasons:
        name = field_named(reason.message, fields)
        (by_field.setdefault(name, []) if name else general).append(reason)
    return by_field, general


def field_named(message: str, fields: list[FormField]) -> Optional[str]:
    for f in fields:
        if re.search(rf"[（(]{re.escape(f.name)}[)）]", message):
            return f.name
    for f in sorted(fields, key=lambda f: -len(_core_label(f.label))):
        if _core_label(f.label) and _core_label(f.label) in message:
            return f.name
    return None


def _core_label(label: str) -> str:
    return re.split(r"[（(]", label, maxsplit=1)[0].strip()
