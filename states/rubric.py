"""The annual assessment rubric (Y§24, Y-rubric) as data, and the pure scoring it defines.

A rubric is read from a commission's YAML file (demo/rubric-2026.yaml): items with their maximum
points, the two bonus rules, the two veto items and the grade bands. The seed's table is garbled,
so nothing here hard-codes its split: `parse` checks a file is coherent (the maxima add up to the
total, the bands cover 0 upwards, ...) and the scoring functions read only the parsed rubric.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Optional

from states.rules import Reason

RULE = "Y-rubric"
GRADE_RULE = "Y§24"
GRADES = ("优秀", "良好", "合格", "不合格")
FAILING = "不合格"
# Provincial review outcomes a moderator may record (the second bonus rule).
RANKS = {"": "未获省级排名或优秀", "1": "全省排名第 1 位", "2": "全省排名第 2 位", "3": "全省排名第 3 位",
         "excellent_multi": "未排名，定为优秀档（优秀档有多个单位）",
         "excellent_single": "未排名，定为优秀档（优秀档只有 1 个名额）"}


@dataclass(frozen=True)
class Item:
    code: str
    title: str
    max_points: float
    evidence_hint: str = ""
    article: str = ""


@dataclass(frozen=True)
class FundingBonus:
    """Host-unit earmarked funding above `threshold` yuan: +`per_step` for each further `step` yuan, at most `cap`."""

    threshold: int = 80_000
    step: int = 20_000
    per_step: float = 1
    cap: float = 3
    proof_required: bool = True
    article: str = "Y§16"


@dataclass(frozen=True)
class RankingBonus:
    """The matching provincial center's review: points by rank, or for an unranked excellent tier."""

    by_rank: dict[str, float] = field(default_factory=lambda: {"1": 3, "2": 2, "3": 1})
    excellent_multi: float = 2
    excellent_single: float = 3
    cap: float = 3
    article: str = "H7"


@dataclass(frozen=True)
class Veto:
    code: str
    text: str
    article: str = ""


@dataclass(frozen=True)
class Band:
    grade: str
    min_score: float


@dataclass(frozen=True)
class Rubric:
    year: int
    city: str
    label: str  # 年度考核, or 述职评价 for a provincial commission reviewing city centers (H7)
    total: float
    items: tuple[Item, ...]
    funding: FundingBonus
    ranking: RankingBonus
    vetoes: tuple[Veto, ...]
    bands: tuple[Band, ...]  # highest first

    def item(self, code: str) -> Optional[Item]:
        return next((i for i in self.items if i.code == code), None)


def number(value: Any) -> Optional[float]:
    """A finite number from a cell or a field (text "8.5" too); None when it is not one."""
    return _number(value)


def _number(value: Any) -> Optional[float]:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    try:
        parsed = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return parsed if math.isfinite(parsed) else None


def round1(value: float) -> float:
    """One decimal, halves up (84.95 → 85.0), as a score sheet is written."""
    return float(Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def parse(data: Any, year: Optional[int] = None) -> tuple[Optional[Rubric], list[Reason]]:
    """A rubric from its file's content; (None, every fault) when it is not coherent."""
    faults: list[Reason] = []

    def fault(text: str) -> None:
        faults.append(Reason(RULE, text))

    if not isinstance(data, dict):
        return None, [Reason(RULE, "考核细则文件应为键值映射（year、items、bonus、vetoes、bands）")]
    file_year = data.get("year")
    if year is not None and file_year is not None and str(file_year) != str(year):
        fault(f"文件中的年度 {file_year} 与 --year {year} 不一致")
    chosen = year if year is not None else file_year
    if not isinstance(chosen, int) or isinstance(chosen, bool) or not 2000 <= chosen <= 2100:
        fault(f"年度无效（当前：{chosen}）；请写 year: 2026 或用 --year 指明")
        chosen = 0
    total = _number(data.get("total", 100))
    if total is None or total <= 0:
        fault("总分（total）应为正数")
        total = 100.0
    items = _items(data.get("items"), fault)
    if items and abs(sum(i.max_points for i in items) - total) > 1e-9:
        split = " + ".join(f"{i.code}:{i.max_points:g}" for i in items)
        fault(f"各考核项目分值之和为 {sum(i.max_points for i in items):g}（{split}），应等于总分 {total:g}")
    bonus = data.get("bonus") or {}
    if not isinstance(bonus, dict):
        fault("加分项（bonus）应为键值映射（funding、ranking）")
        bonus = {}
    funding = _funding(bonus.get("funding") or {}, fault)
    ranking = _ranking(bonus.get("ranking") or {}, fault)
    vetoes = _vetoes(data.get("vetoes"), fault)
    bands = _bands(data.get("bands"), fault)
    label = str(data.get("label") or "年度考核").strip()
    if label not in ("年度考核", "述职评价"):
        fault(f"考核名称（label）应为“年度考核”或“述职评价”（当前：{label}）")
    if faults:
        return None, faults
    return Rubric(chosen, str(data.get("city") or "").strip(), label, total, items, funding, ranking, vetoes,
                  bands), []


def _items(raw: Any, fault) -> tuple[Item, ...]:
    if not isinstance(raw, list) or not raw:
        fault("须列出考核项目（items），每项含 code、title、max_points")
        return ()
    items, seen = [], set()
    for i, entry in enumerate(raw, 1):
        if not isinstance(entry, dict):
            fault(f"考核项目第 {i} 项应为键值映射（code、title、max_points）")
            continue
        code, title = str(entry.get("code") or "").strip(), str(entry.get("title") or "").strip()
        points = _number(entry.get("max_points"))
        if not code or not title:
            fault(f"考核项目第 {i} 项须有 code 和 title")
        if code in seen:
            fault(f"考核项目代码“{code}”重复")
        seen.add(code)
        if points is None or points <= 0:
            fault(f"考核项目“{code or i}”的分值（max_points）应为正数（当前：{entry.get('max_points')}）")
            continue
        items.append(Item(code, title, points, str(entry.get("evidence") or "").strip(),
                          str(entry.get("article") or "").strip()))
    return tuple(items)


def _funding(raw: Any, fault) -> FundingBonus:
    if not isinstance(raw, dict):
        fault("经费加分规则（bonus.funding）应为键值映射")
        return FundingBonus()
    base = FundingBonus()
    values = {k: _number(raw.get(k, getattr(base, k))) for k in ("threshold", "step", "per_step", "cap")}
    for key, value in values.items():
        if value is None or value < 0 or (key == "step" and value == 0):
            fault(f"经费加分规则的 {key} 应为正数（当前：{raw.get(key)}）")
            return base
    return FundingBonus(int(values["threshold"]), int(values["step"]), values["per_step"], values["cap"],
                        bool(raw.get("proof_required", True)), str(raw.get("article") or base.article))


def _ranking(raw: Any, fault) -> RankingBonus:
    if not isinstance(raw, dict):
        fault("省级排名加分规则（bonus.ranking）应为键值映射")
        return RankingBonus()
    base = RankingBonus()
    cap = _number(raw.get("cap", base.cap))
    by_rank_raw = raw.get("by_rank", base.by_rank)
    if not isinstance(by_rank_raw, dict):
        fault("省级排名加分（by_rank）应写成 {1: 3, 2: 2, 3: 1}")
        return base
    by_rank = {str(k): _number(v) for k, v in by_rank_raw.items()}
    multi, single = _number(raw.get("excellent_multi", base.excellent_multi)), _number(
        raw.get("excellent_single", base.excellent_single))
    points = [*by_rank.values(), multi, single]
    if cap is None or any(p is None or p < 0 for p in points):
        fault("省级排名加分的分值应为非负数")
        return base
    if any(p > cap for p in points):
        fault(f"省级排名加分的单项分值不能超过上限 {cap:g}")
    unknown = sorted(set(by_rank) - {"1", "2", "3"})
    if unknown:
        fault(f"省级排名加分只设第 1–3 名（多出：{'、'.join(unknown)}）")
    return RankingBonus(by_rank, multi, single, cap, str(raw.get("article") or base.article))


def _vetoes(raw: Any, fault) -> tuple[Veto, ...]:
    if not isinstance(raw, list) or not raw:
        fault("须列出一票否决项（vetoes），每项含 code 和 text")
        return ()
    out = []
    for i, entry in enumerate(raw, 1):
        if not isinstance(entry, dict) or not str(entry.get("code") or "").strip() or not str(entry.get("text") or "").strip():
            fault(f"一票否决项第 {i} 项须有 code 和 text")
            continue
        out.append(Veto(str(entry["code"]).strip(), str(entry["text"]).strip(), str(entry.get("article") or "")))
    if len({v.code for v in out}) != len(out):
        fault("一票否决项的 code 重复")
    return tuple(out)


def _bands(raw: Any, fault) -> tuple[Band, ...]:
    if not isinstance(raw, list) or not raw:
        fault("须列出等次（bands），如 {grade: 优秀, min: 85}")
        return ()
    out = []
    for i, entry in enumerate(raw, 1):
        grade = str((entry or {}).get("grade") or "").strip() if isinstance(entry, dict) else ""
        low = _number(entry.get("min")) if isinstance(entry, dict) else None
        if grade not in GRADES or low is None:
            fault(f"等次第 {i} 项应写成 {{grade: 优秀|良好|合格|不合格, min: 分数}}")
            continue
        out.append(Band(grade, low))
    out.sort(key=lambda b: -b.min_score)
    if out and [b.grade for b in out] != list(GRADES):
        fault("等次须依次为 优秀、良好、合格、不合格，且分数下限由高到低")
    if out and out[-1].min_score != 0:
        fault("最低等次（不合格）的下限应为 0，使每个分数都有等次")
    return tuple(out)


# --- scoring --------------------------------------------------------------------------------------

def sheet(rubric: Rubric, rows: Any, who: str, rule: str = GRADE_RULE, complete: bool = True,
          need_reasons: bool = True) -> tuple[dict[str, float], dict[str, str], list[Reason]]:
    """A score sheet (rows of item, score, reason) as {item: score}, {item: reason}, and its faults:
    an unknown or repeated item, a score outside 0..max, a deduction without a reason, and (when
    `complete`) an item left unscored."""
    scores: dict[str, float] = {}
    reasons: dict[str, str] = {}
    faults: list[Reason] = []
    if not isinstance(rows, list):
        return {}, {}, [Reason(rule, f"{who}须逐项填写（每行：项目代码 | 得分 | 扣分理由）")]
    for i, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            faults.append(Reason(rule, f"{who}第 {i} 行应写成：项目代码 | 得分 | 扣分理由"))
            continue
        code = str(row.get("item") or "").strip()
        item = rubric.item(code)
        if item is None:
            known = "、".join(i.code for i in rubric.items)
            faults.append(Reason(rule, f"{who}第 {i} 行的项目“{code}”不在 {rubric.year} 年考核细则中（可用：{known}）"))
            continue
        if code in scores:
            faults.append(Reason(rule, f"{who}中项目 {code} 重复评分"))
            continue
        value = _number(row.get("score"))
        if value is None:
            faults.append(Reason(rule, f"{who}项目 {code}（{item.title}）的得分“{row.get('score', '')}”不是数字"))
            continue
        if not 0 <= value <= item.max_points:
            faults.append(Reason(rule, f"{who}项目 {code}（{item.title}）得 {value:g} 分，超出 0–{item.max_points:g} 分"))
            continue
        reason = str(row.get("reason") or "").strip()
        if need_reasons and value < item.max_points and not reason:
            faults.append(Reason(rule, f"{who}项目 {code}（{item.title}）扣 {item.max_points - value:g} 分，须写明扣分理由"))
            continue
        scores[code], reasons[code] = value, reason
    if complete:
        missing = [i.code for i in rubric.items if i.code not in scores and not any(
            f.message.startswith(f"{who}项目 {i.code}（") for f in faults)]
        if missing:
            faults.append(Reason(rule, f"{who}尚有项目未评分：{'、'.join(missing)}"))
    return scores, reasons, faults


def combine(sheets: list[dict[str, float]], rubric: Rubric) -> dict[str, float]:
    """The scorers' mean for each item (one decimal)."""
    out = {}
    for item in rubric.items:
        values = [s[item.code] for s in sheets if item.code in s]
        if values:
            out[item.code] = round1(sum(values) / len(values))
    return out


@dataclass(frozen=True)
class Bonus:
    points: float
    note: str
    rule: str


def funding_bonus(rubric: Rubric, amount: Optional[float], proof: str) -> Bonus:
    """+per_step for each full `step` above the threshold, at most the cap; nothing without proof."""
    rule = rubric.funding
    if not amount or amount <= rule.threshold:
        return Bonus(0, f"挂靠单位专项经费未超过 {rule.threshold:,} 元，无经费加分", rule.article)
    if rule.proof_required and not str(proof or "").strip():
        return Bonus(0, f"申报经费 {amount:,.0f} 元但未提供凭证，不予加分（加分需提供具实凭证）", rule.article)
    steps = int((amount - rule.threshold) // rule.step)
    raw = steps * rule.per_step
    points = min(raw, rule.cap)
    capped = f"，封顶 {rule.cap:g} 分" if raw > rule.cap else ""
    return Bonus(points, f"挂靠单位专项经费 {amount:,.0f} 元，超过 {rule.threshold:,} 元 {steps} 个 {rule.step:,} 元"
                         f"，加 {points:g} 分{capped}", rule.article)


def ranking_bonus(rubric: Rubric, rank: str) -> Bonus:
    rule = rubric.ranking
    rank = str(rank or "").strip()
    if rank not in RANKS:
        raise ValueError(rank)
    if not rank:
        return Bonus(0, "未获省级排名或优秀，无排名加分", rule.article)
    raw = rule.by_rank.get(rank, 0) if rank.isdigit() else (
        rule.excellent_multi if rank == "excellent_multi" else rule.excellent_single)
    return Bonus(min(raw, rule.cap), f"{RANKS[rank]}，加 {min(raw, rule.cap):g} 分", rule.article)


def grade_of(rubric: Rubric, total: float, vetoed: bool) -> str:
    """The band of the total; a veto forces 不合格 whatever the score."""
    if vetoed:
        return FAILING
    for band in rubric.bands:
        if total >= band.min_score:
            return band.grade
    return FAILING


@dataclass(frozen=True)
class Outcome:
    score: float  # the items' sum
    bonus: float
    total: float
    grade: str
    vetoed: bool
    veto_ground: str
    items: dict[str, float]
    notes: tuple[str, ...]

    def as_data(self) -> dict[str, Any]:
        return {"score": self.score, "bonus": self.bonus, "total": self.total, "grade": self.grade,
                "vetoed": self.vetoed, "veto_ground": self.veto_ground, "items": dict(self.items),
                "notes": list(self.notes)}


def outcome(rubric: Rubric, items: dict[str, float], funding: Bonus, ranking: Bonus,
            veto_code: str = "", veto_ground: str = "") -> Outcome:
    score = round1(sum(items.get(i.code, 0) for i in rubric.items))
    bonus = round1(funding.points + ranking.points)
    total = round1(score + bonus)
    veto = next((v for v in rubric.vetoes if v.code == veto_code), None)
    notes = [funding.note, ranking.note]
    if veto is not None:
        notes.append(f"一票否决：{veto.text}（{veto.article or GRADE_RULE}）；事实：{veto_ground}")
    return Outcome(score, bonus, total, grade_of(rubric, total, veto is not None), veto is not None,
                   f"{veto.code}：{veto_ground}" if veto else "", items, tuple(notes))
