"""The process diagram laid out from the workflow tables (states/diagram.py)."""
from __future__ import annotations

import pytest

from states.diagram import layout
from states.registry import WORKFLOWS


def _overlap(a, b) -> bool:
    return a.x < b.x + b.w and b.x < a.x + a.w and a.y < b.y + b.h and b.y < a.y + a.h


@pytest.mark.parametrize("kind", sorted(WORKFLOWS))
def test_every_state_is_a_box_and_every_step_between_states_an_arrow(kind):
    workflow = WORKFLOWS[kind]
    diagram = layout(workflow, workflow.initial)
    assert sorted(b.state for b in diagram.boxes) == sorted(workflow.states)
    assert {b.label for b in diagram.boxes} == set(workflow.states.values())
    moves = {(s, t.dest) for t in workflow.transitions.values() for s in t.sources if t.dest and t.dest != s}
    assert {(e.source, e.dest) for e in diagram.edges} == moves
    for edge in diagram.edges:
        labels = {t.label for t in workflow.transitions.values() if edge.source in t.sources and t.dest == edge.dest}
        assert set(edge.label.split("／")) == labels


@pytest.mark.parametrize("kind", sorted(WORKFLOWS))
def test_boxes_fit_the_canvas_and_never_overlap(kind):
    diagram = layout(WORKFLOWS[kind])
    for box in diagram.boxes:
        assert 0 <= box.x and box.x + box.w <= diagram.width and 0 <= box.y and box.y + box.h <= diagram.height
    boxes = list(diagram.boxes)
    assert not any(_overlap(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def test_only_the_current_state_is_lit():
    diagram = layout(WORKFLOWS["document"], "in_review")
    assert [b.state for b in diagram.boxes if b.current] == ["in_review"] and diagram.current == "in_review"
    assert not any(b.current for b in layout(WORKFLOWS["document"]).boxes)


def test_the_flow_reads_top_to_bottom_and_loops_go_back_up():
    diagram = layout(WORKFLOWS["document"])
    y = {b.state: b.y for b in diagram.boxes}
    assert y["draft"] < y["submitted"] < y["in_review"] < y["awaiting_signoff"] < y["approved"] < y["issued"]
    back = {(e.source, e.dest) for e in diagram.edges if e.back}
    assert ("changes_requested", "submitted") in back and ("awaiting_signoff", "in_review") in back
    assert all(y[dest] < y[source] for source, dest in back)
    # An exit reachable from several states sits below all of them.
    assert all(y["withdrawn"] > y[s] for s in ("draft", "submitted", "in_review", "changes_requested"))


def test_system_steps_are_marked():
    diagram = layout(WORKFLOWS["document"])
    issue = next(e for e in diagram.edges if (e.source, e.dest) == ("approved", "issued"))
    assert issue.system
    assert not next(e for e in diagram.edges if (e.source, e.dest) == ("awaiting_signoff", "approved")).system


def test_a_phone_width_diagram_stays_narrow():
    # At most three boxes side by side: the SVG scales to 390 px without unreadable text.
    for workflow in WORKFLOWS.values():
        assert layout(workflow).width <= 520
