"""Reporting periods (Y§17): a half-year summary due mid-year, a year-end summary and plan by 31 December."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

# kind: (label, due month, due day, article)
REPORT_KINDS = {
    "half_year": ("上半年工作总结", 6, 30, "Y§17"),
    "year_end": ("年度工作总结及下年度工作计划", 12, 31, "Y§17"),
}
# kind: (month, day) the period's reports open, about a month before they are due (the cron of
# prefect.yaml's open-*-reports runs then; a missed run is caught up until the due day)
OPENS_ON = {"half_year": (6, 1), "year_end": (12, 1)}
_CODE = re.compile(r"^(\d{4})(H1|Y)$")


@dataclass(frozen=True)
class Period:
    kind: str
    year: int

    @property
    def code(self) -> str:
        return f"{self.year}{'H1' if self.kind == 'half_year' else 'Y'}"

    @property
    def label(self) -> str:
        return f"{self.year}年{REPORT_KINDS[self.kind][0]}"

    @property
    def due(self) -> date:
        _, month, day, _ = REPORT_KINDS[self.kind]
        return date(self.year, month, day)


def opening_day(period: Period) -> date:
    month, day = OPENS_ON[period.kind]
    return date(period.year, month, day)


def periods_open_on(day: date) -> list[Period]:
    """The periods whose reports should be open on `day`: opened and not yet due."""
    return [p for p in (Period(kind, day.year) for kind in REPORT_KINDS) if opening_day(p) <= day <= p.due]


def period_for(kind: str, day: date) -> Period:
    if kind not in REPORT_KINDS:
        raise ValueError(f"报告类型“{kind}”无效，应为：{'、'.join(REPORT_KINDS)}")
    return Period(kind, day.year)


def parse_period(code: str) -> Period:
    match = _CODE.match(code.strip().upper())
    if not match:
        raise ValueError(f"报告期“{code}”无效，应写成如 2026H1（上半年）或 2026Y（年度）")
    return Period("half_year" if match.group(2) == "H1" else "year_end", int(match.group(1)))
