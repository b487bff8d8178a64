"""Numbers the inspection rules depend on (Y§14(四), Y§20), as data a commission can change.

A finding's severity weighs on its institution; an institution whose findings weigh at least
`WARNING_AT` is warned (预警), at least `NOTICE_AT` is named in a circular (通报): "far off standard".
Each severity also sets how long the institution has to rectify unless the finding gives a date.
"""
from __future__ import annotations

from dataclasses import dataclass

from states.policy import Limit

RULE = "Y§14(四)"
REPORT_RULE = "Y§20"


@dataclass(frozen=True)
class Severity:
    code: str
    label: str
    weight: int
    rectify_days: int  # calendar days after the findings are fed back


SEVERITIES: dict[str, Severity] = {s.code: s for s in (
    Severity("minor", "一般问题", 1, 60),
    Severity("major", "较重问题", 3, 30),
    Severity("severe", "严重问题", 6, 15),
)}
WARNING_AT = Limit(4, RULE)  # e.g. one major and one minor finding, or one severe
NOTICE_AT = Limit(9, RULE)  # e.g. a severe and a major finding: 通报
REPORT_MONTHS = Limit(1, REPORT_RULE)  # the written report, within 1 month of the inspection's end
AUTHORIZATION_WORKING_DAYS = Limit(5, RULE)  # the commission's answer to a plan

LEVELS = {"none": "未达到预警标准", "warning": "预警", "notice": "通报"}


def level_of(severities: list[str]) -> str:
    """none | warning | notice for one institution's findings."""
    weight = sum(SEVERITIES[s].weight for s in severities if s in SEVERITIES)
    if weight >= NOTICE_AT.value:
        return "notice"
    if weight >= WARNING_AT.value:
        return "warning"
    return "none"
