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

Inspections (Y§14(四), Y§20) hold named institutions' findings. The commission's section and its
signing leaders see everything; the inspecting center's people see the case. An inspection itself
holds every inspected institution's findings and a free-text report about all of them, which cannot
be cut per institution: no institution reads it. Each institution reads its findings on its own
rectification list instead, which holds them all: its people (as the reporting hospital's people of
a death) and the contacts the inspection named for it (by their emailed link, when the directory
does not list them) see that list whole, and no other institution's. Every mail of these kinds goes
only to people who may read the case, so their mails carry the title (tests prove the recipients).

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
INSTITUTION = "institution"  # the inspected institution's own rectification list, whole
NONE = "none"  # nothing beyond the kind and the number

COMMISSION_ROLES = ("commission_reviewer", "section_head")
CENTER_READERS = ("center_director", "center_deputy", "center_secretary", "center_member")

# What a reporting hospital sent (states/death_intake.new_case_data), without the patient key.
REPORTED_FIELDS = frozenset({
    "hospital", "record_no", "admitted_on", "died_on", "department", "diagnosis", "drg", "autopsy",
    "adverse_grade", "low_risk", "low_risk_source", "reported_via", "discussion_due", "rediscussion_due",
})
COMMISSION_ONLY_FIELDS = frozenset({"patient_key"})

INSPECTION_KINDS = frozenset({"inspection", "inspection_rectification"})
INSTITUTION_LIST_KINDS = frozenset({"inspection_rectification"})  # one inspected institution's own list
# The signing leaders decide on the circulars (通报) and poor rectification the findings lead to.
INSPECTION_COMMISSION_ROLES = COMMISSION_ROLES + ("signing_leader",)


@dataclass(frozen=True)
class Reader:
    """The person asking, as the policy needs them. `actor` None: nobody said who they are, or (with
    `email`) someone outside the directory holding a signed link mailed to that address."""

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
    institution: str = ""  # the inspected institution whose own list this is (INSTITUTION_LIST_KINDS)
    recipients: frozenset[str] = field(default_factory=frozenset)  # that institution's mailed people, lower-case


def _emails(value: Any) -> frozenset[str]:
    if not isinstance(value, list):
        return frozenset()
    return frozenset(str(e.get("email") if isinstance(e, dict) else e).strip().lower() for e in value) - {"", "none"}


def subject(case_id: int, kind: str, label: str, private: bool, center_id: Optional[int],
            data: dict[str, Any]) -> Subject:
    reviewers = _emails(data.get("reviewers"))
    if kind in INSTITUTION_LIST_KINDS:
        return Subject(case_id, kind, label, private, center_id, institution=str(data.get("institution") or ""),
                       recipients=reviewers | _emails(data.get("recipients")))
    return Subject(case_id, kind, label, private, center_id, str(data.get("hospital") or ""), reviewers)


def level(case: Subject, reader: Reader) -> str:
    blanket = blanket_level(case.private, reader, case.kind)
    if blanket is not None:
        return blanket
    actor = reader.actor
    if actor is None or actor.person_id is None:  # a link holder outside the directory
        return INSTITUTION if reader.email.lower() in case.recipients else NONE
    if case.kind in INSTITUTION_LIST_KINDS:
        return _institution_list_level(case, reader, actor)
    if reader.email and reader.email.lower() in case.reviewers:
        return REVIEW
    if case.center_id is not None and any(actor.holds(role, case.center_id) for role in CENTER_READERS):
        return REVIEW
    if reader.institution and case.hospital and reader.institution.upper() == case.hospital.upper():
        return REPORTER
    return NONE


def _institution_list_level(case: Subject, reader: Reader, actor: Actor) -> str:
    if case.center_id is not None and any(actor.holds(role, case.center_id) for role in CENTER_READERS):
        return REVIEW
    if reader.email.lower() in case.recipients or (
            reader.institution and case.institution and reader.institution.upper() == case.institution.upper()):
        return INSTITUTION
    return NONE


def blanket_level(private: bool, reader: Reader, kind: str = "") -> Optional[str]:
    """The level this person has on every case of a kind, when it does not depend on the case.
    Without `kind`, a role that reads only some private kinds (a signing leader) is decided per case."""
    if not private:
        return FULL
    if reader.actor is None or reader.actor.person_id is None:
        return None if reader.email else NONE  # a link holder's access depends on the case
    roles = INSPECTION_COMMISSION_ROLES if kind in INSPECTION_KINDS else COMMISSION_ROLES
    if any(reader.actor.holds(role) for role in roles):
        return FULL
    return None


def titled_for_its_recipients(kind: str, private: bool) -> bool:
    """Whether a case's mails and task lists may carry its title: a public kind's, and an inspection's
    (every mail of it goes only to people who may read it, and whoever has a step on it may read it);
    other private kinds' carry only the kind and number."""
    return not private or kind in INSPECTION_KINDS


def refusal(case: Subject, reader: Reader) -> Optional[Reason]:
    """Why this person may not open the case at all; None when they may (perhaps in part)."""
    if level(case, reader) != NONE:
        return None
    if reader.anonymous and not reader.email:
        return Reason(RULE, f"{case.label}属于受保护的质控数据，查看前须表明身份（命令行请加 --as 您的邮箱，网页请先登录）")
    who = reader.name if reader.actor is not None else reader.email
    if case.kind == "inspection":
        return Reason(RULE, f"{who} 不是实施检查的质控中心人员或卫健委医政医管科人员，不能查看{case.label} #{case.id}；"
                            "受检机构请通过本机构的督促整改清单查看本机构的检查发现")
    if case.kind in INSTITUTION_LIST_KINDS:
        return Reason(RULE, f"{who} 不是该受检机构的人员、实施检查的质控中心人员或卫健委医政医管科人员，"
                            f"不能查看{case.label} #{case.id}（其他机构的检查发现不对外公开）")
    return Reason(RULE, f"{who} 不是该病例的评审人、负责评审的质控中心人员、报告医院人员或卫健委医政医管科人员，"
                        f"不能查看{case.label} #{case.id}")


def list_title(case: Subject, reader: Reader, title: str) -> str:
    """The title a list shows this person: the case's own, or only its kind and number."""
    return title if level(case, reader) != NONE else f"{case.label} #{case.id}"


def visible_data(data: dict[str, Any], access: str) -> dict[str, Any]:
    """The case's content with what this access level may not see removed."""
    if access == FULL:
        return dict(data)
    if access in (REVIEW, INSTITUTION):
        return {k: v for k, v in data.items() if k not in COMMISSION_ONLY_FIELDS}
    if access == REPORTER:
        return {k: v for k, v in data.items() if k in REPORTED_FIELDS}
    return {}


def shows_history_details(access: str) -> bool:
    """Who did a step and what they wrote belong to the review: not for the reporting hospital. An
    inspected institution sees them on its own list: who verified its evidence and why it fell short."""
    return access in (FULL, REVIEW, INSTITUTION)


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
