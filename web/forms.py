"""What a person typed into a decision form, as the step expects it (shared by the task-link pages
and the case pages, so both send the engine the same changes)."""
from __future__ import annotations

from typing import Any

from states.registry import WORKFLOWS
from states.workflow import Input


def form_changes(case: Any, decision: str, form: dict[str, str]) -> dict[str, Any]:
    """The content changes a decision carries: edited fields that differ, and the step's inputs."""
    workflow = WORKFLOWS[case.kind]
    transition = workflow.transitions.get(decision)
    if transition is None or not transition.takes_changes:
        return {}
    changes: dict[str, Any] = {k: form[k] for k in workflow.fields_for(case.data) if k in form and form[k] != case.data.get(k)}
    for item in transition.inputs:
        value = entered(item, form.get(f"{decision}.{item.name}", ""))
        head, _, rest = item.name.partition(".")
        if rest:
            changes.setdefault(head, {})[rest] = value
        else:
            changes[head] = value
    return changes


def entered(item: Input, value: str) -> Any:
    """A form field as the step expects it: lines become a list, table rows become dicts (split on |)."""
    lines = [v.strip() for v in value.splitlines() if v.strip()]
    if item.kind == "lines":
        return lines
    if item.kind == "table":
        columns = [c for c, _ in item.options]
        return [dict(zip(columns, (cell.strip() for cell in line.replace("｜", "|").split("|")))) for line in lines]
    return value
