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

# H1 improvement-goal plan, H2 must-know compendium, H6 annual report: the seeds set the yearly task but
# no days for its review, so these are the commission's policy (working days from the step's start).
# The commission's check of a plan is more than a document's (Y§18: 5): each target against the
# provincial and national baselines and trends, hence two weeks.
IMPROVEMENT_PLAN_APPROVAL_WORKING_DAYS = Limit(10, "H1")
# A returned plan goes back to the expert committee for its opinion on the changed targets.
IMPROVEMENT_PLAN_REVISION_WORKING_DAYS = Limit(10, "H1")
# The compendium is checked item by item against the listed laws and documents and their files.
COMPENDIUM_REVIEW_WORKING_DAYS = Limit(10, "H2")
COMPENDIUM_REVISION_WORKING_DAYS = Limit(10, "H2")
# The expert committee reads the whole report with its tables and charts against the indicator data.
ANNUAL_REPORT_EXPERT_REVIEW_WORKING_DAYS = Limit(10, "H6")
# Approval and publication are the commission's sign-off of a reviewed report: a document's review time.
ANNUAL_REPORT_APPROVAL_WORKING_DAYS = Limit(5, "H6")
ANNUAL_REPORT_PUBLICATION_WORKING_DAYS = Limit(3, "H6")
