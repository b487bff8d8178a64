"""A workflow is a table of named transitions, each saying who may fire it and what must hold.

The table is declared once per case kind; a `transitions.Machine` built from it (once, at import)
moves the state. The checks run before the machine and return every reason that fails, so a page,
the CLI and an email can all say why.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from transitions import Machine

from states.rules import ROLE_LABELS, Actor, CaseView, Reason, Refused

# A guard returns nothing when the step may go ahead, else one reason or a list of them.
Guard = Callable[[CaseView, Actor, "Attempt"], "Optional[Reason] | list[Reason]"]
Apply = Callable[[dict[str, Any], dict[str, Any], Actor], dict[str, Any]]


def merge(data: dict[str, Any], changes: dict[str, Any], actor: Actor) -> dict[str, Any]:
    return {**data, **changes}


@dataclass(frozen=True)
class Attempt:
    trigger: str
    comment: str = ""
    changes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Input:
    """Something a person enters with a step, beyond the comment (shown on the task page)."""

    name: str  # a dotted name nests: discussion.date → {"discussion": {"date": ...}}
    label: str
    kind: str = "text"  # text | number | choice | lines (one value per line) | table (one row per line)
    options: tuple[tuple[str, str], ...] = ()  # (value, label) for choice; (column, label) for table


@dataclass(frozen=True)
class Transition:
    trigger: str
    sources: tuple[str, ...]
    dest: str  # empty: the step changes content but not the state
    label: str  # the verb people see, e.g. 审核通过
    who: tuple[str, ...]  # roles allowed; center roles must belong to the case's center
    rule: str  # the article this step comes from
    comment_required: str = ""  # non-empty: the refusal text when no comment is given
    guards: tuple[Guard, ...] = ()
    takes_changes: bool = False  # the actor may edit the case's content with this step
    system: bool = False  # fired by the system (scheduled flows, automatic steps)
    notify: tuple["Notify", ...] = ()  # emails this step sends, besides those of the state it enters
    apply: Apply = merge  # how the step's changes enter the case's content
    then: str = ""  # a system step tried right after this one (it happens only if its own checks pass)
    inputs: tuple[Input, ...] = ()
    complete: bool = True  # False: the content may still be incomplete (a saved draft)


@dataclass(frozen=True)
class Notify:
    template: str
    to: str  # creator | role:<name> | center:<role> | recipients | actor_of:<trigger>
    purpose: str = "read"  # act: the link lets the person decide; read: only look
    exclude: str = ""  # people not to notify, in the same notation as `to`


@dataclass(frozen=True)
class OnEnter:
    notify: tuple[Notify, ...] = ()
    open_deadline: str = ""  # step name whose deadline opens on entering
    close_deadlines: bool = True  # steps are closed when the case leaves the state that opened them
    assign_number: bool = False
    auto_trigger: str = ""  # a system step fired right after entering, in the same transaction
    effect: str = ""  # a named side effect in the application layer (qcflow.effects), e.g. establish_center


@dataclass(frozen=True)
class DeadlineSpec:
    """A step with a time limit: open while the case is in one of `states`.

    The due day is `working_days` after opening, or the date in the case's `due_field` if later."""

    step: str
    label: str
    states: tuple[str, ...]
    assignee: str  # who is reminded (see Notify.to)
    escalate_to: str  # who hears when it is late
    rule: str
    ladder: str  # a name in states.ladders.LADDERS
    working_days: int = 0
    due_field: str = ""
    on_overdue: str = ""  # a system step fired once the due day has passed
    requires: str = ""  # open only once the case's content has this field (e.g. an autopsy report date)
    done_when: str = ""  # closed once the case's content has this field (e.g. the second discussion)

    def applies(self, state: str, data: dict[str, Any]) -> bool:
        return (state in self.states and (not self.requires or bool(data.get(self.requires)))
                and not (self.done_when and data.get(self.done_when)))


WHO_LABELS = {**ROLE_LABELS, "creator": "申请人本人", "assigned": "指定的评审人"}


def _as_list(found: "Optional[Reason] | list[Reason]") -> list[Reason]:
    if found is None:
        return []
    return list(found) if isinstance(found, list) else [found]


def needs_input(guard: Guard) -> Guard:
    """Mark a guard that checks what the person enters (a score, a choice): `choices` skips it."""
    guard.needs_input = True  # type: ignore[attr-defined]
    return guard


class _Token:
    """The plain object the shared machine moves; SQLModel rows cannot carry triggers."""

    def __init__(self, state: str):
        self.state = state


class Workflow:
    def __init__(
        self,
        kind: str,
        label: str,
        states: dict[str, str],
        initial: str,
        transitions: list[Transition],
        on_enter: dict[str, OnEnter],
        validate: Callable[[dict[str, Any]], list[Reason]],
        final: tuple[str, ...] = (),
        final_hint: str = "",
        deadlines: tuple["DeadlineSpec", ...] = (),
        creators: tuple[str, ...] = (),
        creator_rule: str = "",
        fields: Optional[dict[str, str]] = None,
        fields_of: Optional[Callable[[dict[str, Any]], dict[str, str]]] = None,
        validate_new: Optional[Callable[[dict[str, Any]], list[Reason]]] = None,
        title_of: Callable[[dict[str, Any]], str] = lambda data: str(data.get("title") or ""),
        belongs_to_center: bool = True,
        private: bool = False,
    ):
        self.kind = kind
        self.label = label
        self.states = states
        self.initial = initial
        self.transitions = {t.trigger: t for t in transitions}
        self.on_enter = on_enter
        self.validate = validate
        self.validate_new = validate_new or validate  # content a new case must have
        self.title_of = title_of
        self.belongs_to_center = belongs_to_center  # False: the case exists before its center does
        self.private = private  # Y§22: mails carry only a number, and every opening is audited
        self.final = final
        self.final_hint = final_hint
        self.deadlines = deadlines
        self.creators = creators
        self.creator_rule = creator_rule
        self.fields = fields or {}  # content fields people edit and read, with their labels
        self._fields_of = fields_of  # the fields of one case, when they depend on its content
        self._machine = Machine(
            model=None,
            states=list(states),
            initial=initial,
            transitions=[
                {"trigger": t.trigger, "source": list(t.sources), "dest": t.dest or None}
                for t in transitions
            ],
            auto_transitions=False,
            send_event=True,
            model_attribute="state",
        )

    def fields_for(self, data: dict[str, Any]) -> dict[str, str]:
        """The fields a case with this content asks for (a subset of `fields`)."""
        return self._fields_of(data) if self._fields_of else self.fields

    def state_label(self, state: str) -> str:
        return self.states.get(state, state)

    def check_create(self, actor: Actor, center_id: Optional[int]) -> list[Reason]:
        if "anyone" in self.creators or any(actor.holds(role, center_id) for role in self.creators):
            return []
        who = "或".join(ROLE_LABELS.get(r, r) for r in self.creators)
        return [Reason(self.creator_rule, f"新建{self.label}须由本中心的{who}进行，{actor.name}没有此权限")]

    def check(self, case: CaseView, actor: Actor, attempt: Attempt) -> list[Reason]:
        """Every reason this attempt must be refused; empty when it may go ahead."""
        t = self.transitions.get(attempt.trigger)
        if not attempt.trigger:
            return [Reason("", "请选择一项决定")]
        if t is None:
            known = "、".join(f"{x.trigger}（{x.label}）" for x in self.transitions.values() if not x.system)
            return [Reason("", f"{self.label}没有名为“{attempt.trigger}”的操作；可用的操作：{known}")]
        if t.system and not actor.is_system:
            return [Reason(t.rule, f"“{t.label}”由系统自动进行，不能手动操作")]
        if case.state not in t.sources:
            return [self._wrong_state(case, t)]
        reasons: list[Reason] = []
        if not self._may_fire(case, actor, t):
            who = "或".join(WHO_LABELS.get(r, r) for r in t.who) or "系统"
            reasons.append(Reason(t.rule, f"“{t.label}”只能由{who}进行，{actor.name}没有此权限"))
        if t.comment_required and not attempt.comment.strip():
            reasons.append(Reason(t.rule, t.comment_required))
        if attempt.changes and not t.takes_changes:
            reasons.append(Reason(t.rule, f"“{t.label}”时不能修改内容"))
        for guard in t.guards:
            reasons.extend(_as_list(guard(case, actor, attempt)))
        # `apply` may assume what the guards checked (a date, a number): only apply what they passed.
        if attempt.changes and t.takes_changes and t.complete and not reasons:
            reasons.extend(self.validate(t.apply(case.data, attempt.changes, actor)))
        return reasons

    def next_state(self, case: CaseView, actor: Actor, attempt: Attempt) -> str:
        reasons = self.check(case, actor, attempt)
        if reasons:
            raise Refused(reasons)
        token = _Token(case.state)
        self._machine.events[attempt.trigger].trigger(token)
        return token.state

    def choices(self, case: CaseView, actor: Actor) -> list[Transition]:
        """The steps this actor could take now: role and guards hold (comments and edits come later)."""
        return [
            t for t in self.transitions.values()
            if case.state in t.sources and not t.system and self._may_fire(case, actor, t)
            and not any(_as_list(guard(case, actor, Attempt(t.trigger))) for guard in t.guards
                        if not getattr(guard, "needs_input", False))
        ]

    def _may_fire(self, case: CaseView, actor: Actor, t: Transition) -> bool:
        if t.system:
            return actor.is_system
        if "creator" in t.who and actor.person_id is not None and actor.person_id == case.created_by_id:
            return True
        if "assigned" in t.who and actor.person_id in case.facts.get("assigned_ids", ()):
            return True
        return any(actor.holds(role, case.center_id) for role in t.who)

    def _wrong_state(self, case: CaseView, t: Transition) -> Reason:
        now = self.state_label(case.state)
        if case.state in self.final:
            return Reason(t.rule, f"该{self.label}状态为{now}，不能再“{t.label}”。{self.final_hint}")
        allowed = "、".join(self.state_label(s) for s in t.sources)
        return Reason(t.rule, f"“{t.label}”只能在{allowed}状态下进行，当前为{now}")
