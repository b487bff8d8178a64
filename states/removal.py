"""Dynamic management (Y§26): when a center's record meets one of the three grounds, a removal case
goes to the commission with the facts; only the commission's decision removes the director, revokes
the host's qualification and starts a new selection.

The grounds (免去该质控中心主任职务并撤销单位挂靠资格):
- a Y§25 case that is serious (情节严重, see states/rectification.is_serious);
- rectification orders issued 2 or more times in one calendar year (同一年度被责令整改 2 次及以上);
- 不合格 in the annual assessment of 2 consecutive years (连续 2 个年度考核不合格).

`removal_grounds` is pure: it gets the center's orders and published grades and says which grounds
hold, per year. A case is opened once per ground and year (its key), so evaluating again opens none.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from states.policy import Limit
from states.rules import Reason
from states.workflow import Notify, OnEnter, Transition, Workflow

RULE = "Y§26"
ORDERS_PER_YEAR = Limit(2, RULE)  # 同一年度被责令整改 2 次及以上
FAILING_YEARS = Limit(2, RULE)  # 连续 2 个年度考核不合格
FAILING_GRADE = "不合格"
DECIDERS = ("section_head", "commission_reviewer")

GROUND_LABELS = {
    "serious": "发生第二十五条所列情形且情节严重",
    "orders": f"同一年度被责令整改 {ORDERS_PER_YEAR.value} 次及以上",
    "failing": f"连续 {FAILING_YEARS.value} 个年度考核不合格",
}


@dataclass(frozen=True)
class OrderFact:
    """An issued rectification order as the rule needs it."""

    case_id: int
    year: int  # the year it was issued (local date)
    title: str
    serious: bool


@dataclass(frozen=True)
class Finding:
    """A Y§26 ground that holds, with the facts the commission decides on."""

    ground: str  # serious | orders | failing
    year: int
    reason: Reason
    orders: tuple[OrderFact, ...]  # the orders of that year
    grades: tuple[tuple[int, str], ...]  # (year, grade) of the year and the one before, as published

    def key(self, center_code: str) -> str:
        return f"removal:{center_code}:{self.ground}:{self.year}"


def removal_grounds(orders: list[OrderFact], grades: dict[int, str]) -> list[Finding]:
    """Every (ground, year) that holds for one center, oldest first."""
    by_year: dict[int, list[OrderFact]] = {}
    for order in sorted(orders, key=lambda o: o.case_id):
        by_year.setdefault(order.year, []).append(order)
    years = sorted(set(by_year) | set(grades))

    def facts(year: int) -> tuple[tuple[OrderFact, ...], tuple[tuple[int, str], ...]]:
        return tuple(by_year.get(year, ())), tuple((y, grades[y]) for y in (year - 1, year) if y in grades)

    found: list[Finding] = []
    for year in years:
        this_year = by_year.get(year, [])
        serious = [o for o in this_year if o.serious]
        if serious:
            cited = "、".join(f"#{o.case_id}" for o in serious)
            found.append(Finding("serious", year, Reason(RULE, f"{year}年责令整改 {cited} 经认定情节严重"), *facts(year)))
        if len(this_year) >= ORDERS_PER_YEAR.value:
            cited = "、".join(f"#{o.case_id}" for o in this_year)
            found.append(Finding("orders", year, Reason(
                RULE, f"{year}年被责令整改 {len(this_year)} 次（{cited}），达到 {ORDERS_PER_YEAR.value} 次"), *facts(year)))
        span = range(year - FAILING_YEARS.value + 1, year + 1)
        if all(grades.get(y) == FAILING_GRADE for y in span):
            found.append(Finding("failing", year, Reason(
                RULE, f"{span[0]}年、{year}年连续 {FAILING_YEARS.value} 个年度考核不合格"), *facts(year)))
    return found


def case_data(finding: Finding, center_name: str, directors: list[tuple[str, str]]) -> dict[str, Any]:
    """What the commission sees on the removal case: the ground and the facts. `directors`: the
    serving director(s) as (name, email); they are told of the decision even once removed."""
    director = "、".join(name for name, _ in directors)
    orders = [{"id": o.case_id, "title": o.title, "year": o.year, "serious": o.serious} for o in finding.orders]
    grades = {str(y): g for y, g in finding.grades}
    lines = [f"依据第二十六条：{GROUND_LABELS[finding.ground]}。", f"事实：{finding.reason.message}。",
             f"{finding.year}年责令整改：" + ("；".join(f"#{o['id']} {o['title']}" + ("（情节严重）" if o["serious"] else "")
                                               for o in orders) or "无"),
             "近两个年度考核结果：" + ("；".join(f"{y}年 {g}" for y, g in grades.items()) or "尚无公布的结果"),
             f"现任主任：{director or '（名册中没有在任主任）'}",
             "决定免职的，系统将免去主任职务、撤销挂靠单位资格（中心状态改为已撤销），并另行组织遴选挂靠单位和主任"
             "（按第八至十三条重新申请设置）。决定保留的，须写明理由。"]
    return {"title": f"动态管理：{center_name}（{GROUND_LABELS[finding.ground]}，{finding.year}年）",
            "ground": finding.ground, "ground_label": GROUND_LABELS[finding.ground], "year": finding.year,
            "orders": orders, "grades": grades, "director": director,
            "recipients": [{"name": name, "email": email} for name, email in directors], "facts": "\n".join(lines)}


def _validate(data: dict[str, Any]) -> list[Reason]:
    return [] if data.get("ground") in GROUND_LABELS else [Reason(RULE, "动态管理事项须写明第二十六条的情形")]


T = Transition
WORKFLOW = Workflow(
    kind="removal",
    label="动态管理（免职撤销）",
    states={"proposed": "待卫健委决定", "decided_remove": "已决定免职并撤销挂靠", "decided_keep": "已决定保留"},
    initial="proposed",
    final=("decided_remove", "decided_keep"),
    final_hint="卫健委已作出决定。",
    validate=_validate,
    creators=(),  # opened by the rules only
    creator_rule=RULE,
    fields={"facts": "事实与依据"},
    transitions=[
        T("decide_remove", ("proposed",), "decided_remove", "决定免职并撤销挂靠资格", DECIDERS, RULE,
          comment_required="免职决定须写明决定的理由（会议或文件）"),
        T("decide_keep", ("proposed",), "decided_keep", "决定保留", DECIDERS, RULE,
          comment_required="决定保留须写明理由"),
    ],
    on_enter={
        "proposed": OnEnter(notify=(Notify("removal_proposed", "role:section_head", "act"),
                                    Notify("removal_proposed", "role:commission_reviewer", "act",
                                           exclude="role:section_head"))),
        "decided_remove": OnEnter(effect="remove_director_and_host",
                                  notify=(Notify("removal_decided", "recipients", "read"),
                                          Notify("removal_decided", "center:center_secretary", "read",
                                                 exclude="recipients"),
                                          Notify("removal_reselection", "role:section_head", "read"))),
        "decided_keep": OnEnter(notify=(Notify("removal_kept", "center:center_director,center_secretary", "read"),)),
    },
)
