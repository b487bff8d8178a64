"""Numbers the rules depend on, each with the article it comes from. Change them here, not in code."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    value: int
    rule: str


# Workflow 1: document issuance (Y§18)
DOCUMENT_REVIEW_WORKING_DAYS = Limit(5, "Y§18")
# Reminder and escalation ladders are in states/ladders.py.
DOCUMENT_TITLE_MAX_CHARS = Limit(100, "GB/T 9704-2012 §7.3.1")
