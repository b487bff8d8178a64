"""Roster changes after establishment (Y§10–§12, Y§26): the same rules as the application.

The whole resulting roster must meet Y§10 and Y§12; the Y§11 conditions (title, post, age on the
appointment date, no recent penalty) apply to whoever newly becomes director or deputy.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date

from states.rules import Actor, Reason
from states.staffing import (Roster, check_leaders, check_members, check_reappointment, check_structure,
                             consecutive_terms)

CHANGERS = ("commission_reviewer", "section_head")


def may_change(actor: Actor) -> list[Reason]:
    if any(actor.holds(role) for role in CHANGERS):
        return []
    return [Reason("Y§4", f"质控中心人员调整由卫健委（医政医管科）办理，{actor.name}没有此权限")]


def check_change(proposed: Roster, newly_leading: set[str], appointment_date: date, reason: str) -> list[Reason]:
    reasons = []
    if not reason.strip():
        reasons.append(Reason("Y§26", "人员调整须写明原因（reason）"))
    reasons += check_structure(proposed) + check_members(proposed)
    new_leaders = replace(proposed, members=tuple(m for m in proposed.members if m.name in newly_leading))
    return reasons + check_leaders(new_leaders, appointment_date)


def check_reappointments(director_terms: dict[str, list[tuple[date, date]]], appointment_date: date) -> list[Reason]:
    """Y§26 for whoever a change makes (or makes again) director: {name: their earlier director terms}."""
    return [Reason(r.rule, f"主任 {name} {r.message}") for name, terms in sorted(director_terms.items())
            for r in check_reappointment(consecutive_terms(terms, appointment_date))]
