"""Helpers for the workflow-table tests: the cells of a state × step table, and a single reason."""
from __future__ import annotations

from states.rules import Reason


def cells(states, steps, allowed: dict[str, set[str]]) -> tuple[list, list, list]:
    """Every (state, step), those the expected table allows, and those it refuses."""
    every = [(state, step) for state in states for step in steps]
    return every, [c for c in every if c[1] in allowed[c[0]]], [c for c in every if c[1] not in allowed[c[0]]]


def only_reason(reasons: list[Reason]) -> Reason:
    assert len(reasons) == 1, reasons
    return reasons[0]
