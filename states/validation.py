"""What a person may hand in as a case's content, checked before any rule or `apply` sees it.

The workflows declare their edited fields (`Workflow.fields`) and what a step takes (`Transition.inputs`,
with a kind); `EXTRA_FIELDS` adds the content fields they leave undeclared (a document's kind and
recipients, dates). A value of the wrong type (`doc_kind: [x]`), an impossible date (2026-02-30), a
number out of range or not finite is refused naming the field and the rule; everything else in the
content must at least be plain data (text, whole numbers in range, finite decimals, yes/no, lists,
mappings with text keys, not nested too deep). Pure: no I/O.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Optional

from states.rules import Reason
from states.workflow import Input, Transition, Workflow

MAX_INT = 2**31 - 1  # what a database integer column holds; more is a typo, not a count
MAX_TEXT_CHARS = 200_000
MAX_DEPTH = 20
MAX_ITEMS = 10_000
YEARS = (1900, 2100)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Field:
    """One content field: its label and kind (text | number | choice | lines | table | date | records | mapping)."""

    label: str
    kind: str = "text"
    options: tuple[str, ...] = ()  # choice: the values; table: the columns
    low: int = 0
    high: int = MAX_INT
    dates: tuple[str, ...] = ()  # table/records columns that hold dates
    message: str = ""  # the refusal as the workflow words it (instead of "“label”（name）…")


def _recipients() -> Field:
    return Field("收件人", "records", ("name", "email"))


# Content fields the workflow tables leave undeclared, per case kind.
EXTRA_FIELDS: dict[str, dict[str, Field]] = {
    "document": {
        "doc_kind": Field("公文种类", "choice", ("meeting_notice", "inspection_notice", "survey_notice",
                                                "work_plan", "other")),
        "recipients": _recipients(),
    },
    "application": {
        "center_code": Field("拟设中心代码"), "center_name": Field("拟设中心名称"), "specialty": Field("专业"),
        "host": Field("申请单位代码"), "category": Field("中心类别"), "appointment_date": Field("任命日期", "date"),
        "roster": Field("成员名单", "records", ("email", "role")), "materials": Field("申请材料", "mapping"),
        "score": Field("评分", "number", low=0, high=100, message="评分须为 0 到 100 的整数"),
    },
    "death_review": {
        "discussion.date": Field("讨论日期", "date"), "rediscussion.date": Field("再次讨论日期", "date"),
        "autopsy_report_on": Field("尸检报告日期", "date"), "action": Field("措施序号", "number", low=1, high=MAX_ITEMS),
        "actions": Field("改进措施", "table", ("description", "owner", "due", "strength"), dates=("due",)),
        "center": Field("负责评审的质控中心代码"),
    },
    "report": {},
}


def fields_for(workflow: Workflow, transition: Optional[Transition] = None) -> dict[str, Field]:
    """The declared fields a step (or, without one, a new case) may carry, by dotted name."""
    out = {name: Field(label) for name, label in workflow.fields.items()}
    # A content field means one thing in a kind: what any step declares holds for every step.
    for step in workflow.transitions.values():
        if step is not transition:
            out.update((item.name, _from_input(item)) for item in step.inputs)
    if transition is not None:
        out.update((item.name, _from_input(item)) for item in transition.inputs)
    for name, spec in EXTRA_FIELDS.get(workflow.kind, {}).items():
        known = out.get(name)
        # An input's kind is what the page shows; the extra adds ranges and dates the input cannot say.
        out[name] = spec if known is None or known.kind in (spec.kind, "text") else known
    return out


def _from_input(item: Input) -> Field:
    options = tuple(value for value, _ in item.options)
    if item.kind == "table":
        return Field(item.label, "table", options, dates=tuple(c for c, label in item.options if "YYYY-MM-DD" in label))
    return Field(item.label, item.kind, options)


def check_content(content: Any, fields: dict[str, Field], rule: str) -> list[Reason]:
    """Every fault of `content` (a step's changes or a new case's data); empty when it is usable."""
    if not isinstance(content, dict):
        return [Reason(rule, "提交的内容应为键值映射（字段: 值）")]
    reasons = check_plain(content, rule)
    if reasons:
        return reasons
    for name, spec in fields.items():
        found, value = _lookup(content, name)
        if found is _NOT_A_MAPPING:
            reasons.append(Reason(rule, f"“{name.split('.')[0]}”应为键值映射（{name.split('.', 1)[1]}: …）"))
        elif found and (problems := check_value(value, spec)):
            reasons.extend([Reason(rule, spec.message)] if spec.message else
                           (Reason(rule, f"“{spec.label}”（{name}）{fault}") for fault in problems))
    return reasons


def check_plain(value: Any, rule: str, path: str = "", depth: int = 0) -> list[Reason]:
    """Plain data only: what JSON and the database can hold, within the limits."""
    where = f"“{path}”" if path else "内容"
    if depth > MAX_DEPTH:
        return [Reason(rule, f"{where}嵌套超过 {MAX_DEPTH} 层")]
    if value is None or isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [] if abs(value) <= MAX_INT else [Reason(rule, f"{where}的数值 {_short(value)} 超出范围（不超过 {MAX_INT}）")]
    if isinstance(value, float):
        return [] if math.isfinite(value) and abs(value) <= 1e15 else [Reason(rule, f"{where}的数值 {value} 无效或超出范围")]
    if isinstance(value, str):
        if len(value) > MAX_TEXT_CHARS:
            return [Reason(rule, f"{where}有 {len(value)} 字，超过 {MAX_TEXT_CHARS} 字上限")]
        if "\x00" in value or any(0xD800 <= ord(c) <= 0xDFFF for c in value):
            return [Reason(rule, f"{where}含有无法保存的字符（空字符或不成对的代理字符）")]
        return []
    if isinstance(value, (list, tuple)):
        if len(value) > MAX_ITEMS:
            return [Reason(rule, f"{where}有 {len(value)} 项，超过 {MAX_ITEMS} 项上限")]
        out: list[Reason] = []
        for i, item in enumerate(value, 1):
            out.extend(check_plain(item, rule, f"{path}[{i}]" if path else f"第 {i} 项", depth + 1))
            if out:
                return out
        return out
    if isinstance(value, dict):
        if len(value) > MAX_ITEMS:
            return [Reason(rule, f"{where}有 {len(value)} 项，超过 {MAX_ITEMS} 项上限")]
        for key, item in value.items():
            if not isinstance(key, str) or not key.strip():
                return [Reason(rule, f"{where}中的键“{_short(key)}”无效：键须是非空文字")]
            found = check_plain(key, rule, path, depth + 1) or check_plain(item, rule, f"{path}.{key}" if path else key,
                                                                          depth + 1)
            if found:
                return found
        return []
    return [Reason(rule, f"{where}的值类型不受支持（{type(value).__name__}）")]


def check_undeclared(changes: dict[str, Any], transition: Transition) -> list[Reason]:
    """A step that declares its inputs takes only those (a discussion record cannot also rewrite the reviewers)."""
    if not transition.inputs:
        return []
    allowed = {item.name.split(".")[0] for item in transition.inputs}
    extra = sorted(str(k) for k in changes if k not in allowed)
    if not extra:
        return []
    return [Reason(transition.rule, f"“{transition.label}”只接受：{'、'.join(sorted(allowed))}；"
                                    f"不接受：{'、'.join(extra[:10])}")]


def check_value(value: Any, spec: Field) -> list[str]:
    """What is wrong with one field's value, as phrases ("应为文字…")."""
    kind = spec.kind
    if value is None:
        return [] if kind in ("text", "date", "choice") else ["不能为空值（null）"]
    if kind == "text":
        return [] if _scalar(value) else ["应为文字，不能是列表或映射"]
    if kind == "number":
        return _number(value, spec)
    if kind == "choice":  # the type only: which values are allowed is the workflow's rule, with its own words
        return [] if isinstance(value, str) else [f"应为以下之一：{'、'.join(spec.options)}（当前：{_short(value)}）"]
    if kind == "date":
        return _date(value)
    if kind == "mapping":
        return [] if isinstance(value, dict) else ["应为键值映射"]
    if kind == "lines":
        if not isinstance(value, list):
            return ["应为列表（每行一项）"]
        return [f"第 {i} 项应为文字" for i, item in enumerate(value, 1) if not _scalar(item)][:5]
    if kind in ("table", "records"):
        if not isinstance(value, list):
            return ["应为列表，每项写成 {" + "、".join(f"{c}: …" for c in spec.options) + "}"]
        faults: list[str] = []
        for i, row in enumerate(value, 1):
            if not isinstance(row, dict):
                faults.append(f"第 {i} 项应为键值映射（{'、'.join(spec.options)}）")
                continue
            for column, cell in row.items():
                if column in spec.dates:
                    faults.extend(f"第 {i} 项 {column}：{f}" for f in _date(cell))
                elif kind == "table" and not _scalar(cell) and cell is not None:
                    faults.append(f"第 {i} 项 {column} 应为文字")
                elif column in spec.options and not _scalar(cell) and cell is not None:
                    faults.append(f"第 {i} 项 {column} 应为文字")
        return faults[:5]
    return []


_NOT_A_MAPPING = object()


def _lookup(content: dict[str, Any], name: str) -> tuple[Any, Any]:
    """(found, value) for a dotted name; `_NOT_A_MAPPING` when a parent is not a mapping."""
    node: Any = content
    parts = name.split(".")
    for i, part in enumerate(parts):
        if not isinstance(node, dict):
            return _NOT_A_MAPPING, None
        if part not in node:
            return False, None
        node = node[part]
    return True, node


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


def _number(value: Any, spec: Field) -> list[str]:
    text = str(value).strip() if _scalar(value) else None
    if text is None or not re.fullmatch(r"[+-]?\d{1,12}", text):
        return [f"应为整数（当前：{_short(value)}）"]
    number = int(text)
    if not spec.low <= number <= spec.high:
        return [f"{number} 超出范围（{spec.low}–{spec.high}）"]
    return []


def _date(value: Any) -> list[str]:
    text = value.strip() if isinstance(value, str) else None
    if text is None or not _ISO_DATE.match(text):
        return [f"应为日期，格式 YYYY-MM-DD（当前：{_short(value)}）"]
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return [f"“{text}”不是存在的日期"]
    if not YEARS[0] <= day.year <= YEARS[1]:
        return [f"{text} 超出合理范围（{YEARS[0]}–{YEARS[1]} 年）"]
    return []


def _short(value: Any) -> str:
    if isinstance(value, int) and value.bit_length() > 128:
        return f"{'-' if value < 0 else ''}{value.bit_length()} 位二进制的整数"
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= 40 else text[:37] + "…"


ROSTER_CHANGE = {
    "add": Field("新增人员", "records", ("email", "role")),
    "remove": Field("移出人员（邮箱）", "lines"),
    "change_role": Field("调整职务", "records", ("email", "role")),
    "size_justification": Field("超过 18 人的理由"),
    "reason": Field("调整原因"),
}


def check_roster_change(data: Any) -> list[Reason]:
    """The shape of a roster change (`qcflow center change --data`), before Y§10–§12 judge it."""
    return check_content(data, ROSTER_CHANGE, "Y§10")
