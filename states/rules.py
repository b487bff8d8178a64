"""What the rules see and say: actors, case snapshots, reasons for refusal. Pure data, no I/O."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

ROLE_LABELS = {
    "commission_reviewer": "卫健委审核人（医政医管科）",
    "section_head": "医政医管科科长",
    "signing_leader": "签发领导",
    "expert": "专家委员会委员",
    "center_director": "质控中心主任",
    "center_deputy": "质控中心副主任",
    "center_secretary": "质控中心秘书",
    "center_member": "质控中心成员",
    "center_advisor": "质控中心顾问",
    "host_leader": "挂靠单位分管院领导",  # Y§16; acts for the institution they belong to (Y§26(三), Y§27)
    "quality_office": "医疗机构质控办（医务/质管部门）",  # an institution's quality office: receives inspection findings (Y§20)
}
CENTER_ROLES = frozenset(r for r in ROLE_LABELS if r.startswith("center_"))


@dataclass(frozen=True)
class Reason:
    """One rule that said no: the article it comes from and a sentence a clerk can act on."""

    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.message}（{self.rule}）" if self.rule else self.message


class Refused(Exception):
    def __init__(self, reasons: list[Reason]):
        self.reasons = list(reasons)
        super().__init__("；".join(str(r) for r in self.reasons))


class Conflict(Exception):
    """The case changed since the actor looked at it: someone else acted first."""

    def __init__(self, message: str = "该事项已被他人处理，请刷新后查看最新状态"):
        super().__init__(message)


@dataclass(frozen=True)
class Actor:
    person_id: Optional[int]  # None: the system (scheduled flows)
    name: str
    roles: frozenset[tuple[str, Optional[int]]] = frozenset()  # (role, center_id or None)

    @property
    def is_system(self) -> bool:
        return self.person_id is None

    def holds(self, role: str, center_id: Optional[int] = None) -> bool:
        if role in CENTER_ROLES:
            return (role, center_id) in self.roles
        return any(r == role for r, _ in self.roles)


SYSTEM = Actor(person_id=None, name="系统")


@dataclass(frozen=True)
class PastEvent:
    trigger: str
    actor_id: Optional[int]
    to_state: str


@dataclass(frozen=True)
class CaseView:
    """A snapshot of a case as the rules need it."""

    kind: str
    state: str
    center_id: Optional[int]
    created_by_id: int
    data: dict[str, Any] = field(default_factory=dict)
    history: tuple[PastEvent, ...] = ()
    facts: dict[str, Any] = field(default_factory=dict)  # what the rules need from outside the case
    proposed: Optional[dict[str, Any]] = None  # the content as this step would leave it (None: unchanged)

    @property
    def after(self) -> dict[str, Any]:
        """The content the rules judge: what the step would leave, else what is stored."""
        return self.data if self.proposed is None else self.proposed

    def last_actor_of(self, trigger: str) -> Optional[int]:
        for event in reversed(self.history):
            if event.trigger == trigger:
                return event.actor_id
        return None

    def actors_since(self, trigger: str, since: str) -> set[Optional[int]]:
        """Everyone who fired `trigger` after the latest `since` event (the whole history if none)."""
        found: set[Optional[int]] = set()
        for event in reversed(self.history):
            if event.trigger == since:
                break
            if event.trigger == trigger:
                found.add(event.actor_id)
        return found
