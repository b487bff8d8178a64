"""Who may see what of a case (Y§22 data security; H5 for death cases). Pure: no I/O.

Quality data is used only for QC work, only by people with permission. For a private kind (death
reviews) the decision is made from the person's roles and institution and the case's center,
reporting hospital and assigned reviewers:

- the commission's section (医政医管科: commission reviewers, the section head) sees everything;
- the assigned reviewers and the people of the assigned center see the case, but not the patient
  key (the pseudonym only links one patient's cases across hospitals, which is the commission's job);
- the reporting hospital (its people, who may import its deaths) sees what it reported and where
  the case stands, not the review (discussion, factors, actions, who said what);
- everyone else, and anyone who has not said who they are, sees no detail, and in a list only
  the case's kind and number ("死亡病例评审 #12"), never its title.

Kinds that are not private (documents, reports, applications) are readable by everyone.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from states.rules import Actor, Reason

RULE = "Y§22"

FULL = "full"  # everything
REVIEW = "review"  # everything but the patient key
REPORTER = "reporter"  # what the hospital reported, and the case's progress
NONE = "none"  # nothing beyond the kind and the number

COMMISSION_ROLES = ("commission_reviewer", "section_head")
CENTER_READERS = ("center_director", "center_deputy", "center_secretary", "center_member")

# What a reporting hospital sent (states/death_intake.new_case_data), without the patient key.
REPORTED_FIELDS = frozenset({
    "hospital", "record_no", "admitted_on", "died_on", "department", "diagnosis", "drg", "autopsy",
    "adverse_grade", "low_risk", "low_risk_source", "reported_via", "discussion_due", "rediscussion_due",
})
COMMISSION_ONLY_FIELDS = frozenset({"patient_key"})


@dataclass(frozen=True)
class Reader:
    """The person asking, as the policy needs them. `actor` None: nobody said who they are."""

    actor: Optional[Actor] = None
    email: str = ""
    institution: str = ""  # code of the person's institution, "" when none

    @property
    def anonymous(self) -> bool:
        return self.actor is None or self.actor.person_id is None

    @property
    def name(self) -> str:
        return self.actor.name if self.actor is not None else "未登录的访问者"


ANONYMOUS = Reader()


@dataclass(frozen=True)
class Subject:
    """A case as the policy needs it."""

    id: int
    kind: str
    label: str  # the kind's name people see, e.g. 死亡病例评审
    private: bool
    center_id: Optional[int] = None
    hospital: str = ""
    reviewers: frozenset[str] = field(default_factory=frozenset)  # assigned reviewers' emails, lower-case


def subject(case_id: int, kind: str, label: str, private: bool, center_id: Optional[int],
            data: dict[str, Any]) -> Subject:
    reviewers = data.get("reviewers") or []
    emails = frozenset(str(e).strip().lower() for e in reviewers) if isinstance(reviewers, list) else frozenset()
    return Subject(case_id, kind, label, private, center_id, str(data.get("hospital") or ""), emails)


def level(case: Subject, reader: Reader) -> str:
    blanket = blanket_level(case.private, reader)
    if blanket is not None:
        return blanket
    actor = reader.actor
    assert actor is not None
    if reader.email and reader.email.lower() in case.reviewers:
        return REVIEW
    if case.center_id is not None and any(actor.holds(role, case.center_id) for role in CENTER_READERS):
        return REVIEW
    if reader.institution and case.hospital and reader.institution.upper() == case.hospital.upper():
        return REPORTER
    return NONE


def blanket_level(private: bool, reader: Reader) -> Optional[str]:
    """The level this person has on every case of a kind, when it does not depend on the case."""
    if not private:
        return FULL
    if reader.anonymous or reader.actor is None:
        return NONE
    if any(reader.actor.holds(role) for role in COMMISSION_ROLES):
        return FULL
    return None


def refusal(case: Subject, reader: Reader) -> Optional[Reason]:
    """Why this person may not open the case at all; None when they may (perhaps in part)."""
    if level(case, reader) != NONE:
        return None
    if reader.anonymous:
        return Reason(RULE, f"{case.label}属于受保护的质控数据，查看前须表明身份（命令行请加 --as 您的邮箱，网页请先登录）")
    return Reason(RULE, f"{reader.name} 不是该病例的评审人、负责评审的质控中心人员、报告医院人员或卫健委医政医管科人员，"
                        f"不能查看{case.label} #{case.id}")


def list_title(case: Subject, reader: Reader, title: str) -> str:
    """The title a list shows this person: the case's own, or only its kind and number."""
    return title if level(case, reader) != NONE else f"{case.label} #{case.id}"


def visible_data(data: dict[str, Any], access: str) -> dict[str, Any]:
    """The case's content with what this access level may not see removed."""
    if access == FULL:
        return dict(data)
    if access == REVIEW:
        return {k: v for k, v in data.items() if k not in COMMISSION_ONLY_FIELDS}
    if access == REPORTER:
        return {k: v for k, v in data.items() if k in REPORTED_FIELDS}
    return {}


def shows_history_details(access: str) -> bool:
    """Who did a step and what they wrote belong to the review: not for the reporting hospital."""
    return access in (FULL, REVIEW)


# Monitoring indicators (H3): institution-level figures are QC data of named hospitals.
INDICATOR_INSTITUTIONS = "institutions"  # every institution's figures and the flags
INDICATOR_AGGREGATES = "aggregates"  # areas and levels only, small groups withheld
INDICATOR_NONE = "none"


def indicator_access(reader: Reader, center_id: Optional[int]) -> str:
    """The commission's section and the people of the specialty's center see institutions; others
    signed in see area and level aggregates; anonymous visitors nothing (published reports are public)."""
    if reader.anonymous or reader.actor is None:
        return INDICATOR_NONE
    if any(reader.actor.holds(role) for role in COMMISSION_ROLES) or (
            center_id is not None and any(reader.actor.holds(role, center_id) for role in CENTER_READERS)):
        return INDICATOR_INSTITUTIONS
    return INDICATOR_AGGREGATES
