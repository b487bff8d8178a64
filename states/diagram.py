"""The process diagram of a workflow, laid out from the same table the engine fires: boxes for the
states, arrows for the transitions. Pure geometry; a template turns it into an inline SVG.

States are placed in rows by the longest way to them from the initial state, so the diagram reads
top to bottom and stays narrow enough for a phone. An arrow that goes back up (a resubmission, a
reopening) runs in a lane along the right-hand side; one that skips rows, in a lane on the left.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from states.workflow import Workflow

BOX_W, BOX_H = 112, 34
GAP_X, GAP_Y = 24, 46
MARGIN = 12
LANE = 14  # width of one lane for an arrow going back


@dataclass(frozen=True)
class Box:
    state: str
    label: str
    x: float
    y: float
    w: float
    h: float
    current: bool
    final: bool
    initial: bool


@dataclass(frozen=True)
class Edge:
    source: str
    dest: str
    label: str  # the steps' labels, joined (several steps can lead between the same two states)
    path: str  # SVG path data
    label_x: float
    label_y: float
    back: bool  # goes back to an earlier row
    system: bool  # every step on it is taken by the system
    exit: bool = False  # into a side exit (withdrawn, rejected): drawn lighter than the main path


@dataclass(frozen=True)
class Diagram:
    kind: str
    title: str
    width: float
    height: float
    boxes: tuple[Box, ...]
    edges: tuple[Edge, ...]
    current: Optional[str]

    def box(self, state: str) -> Box:
        return next(b for b in self.boxes if b.state == state)


def _steps_between(workflow: Workflow) -> dict[tuple[str, str], list]:
    pairs: dict[tuple[str, str], list] = {}
    for t in workflow.transitions.values():
        for source in t.sources:
            if t.dest and t.dest != source:
                pairs.setdefault((source, t.dest), []).append(t)
    return pairs


def _back_pairs(workflow: Workflow, pairs: dict[tuple[str, str], list]) -> set[tuple[str, str]]:
    """Arrows that close a loop (to a state on the walk's current path): drawn going back up."""
    outgoing: dict[str, list[str]] = {}
    for source, dest in pairs:
        outgoing.setdefault(source, []).append(dest)
    back: set[tuple[str, str]] = set()
    seen: set[str] = set()
    on_path: set[str] = set()

    def walk(state: str) -> None:
        seen.add(state)
        on_path.add(state)
        for dest in outgoing.get(state, []):
            if dest in on_path:
                back.add((state, dest))
            elif dest not in seen:
                walk(dest)
        on_path.discard(state)

    for state in [workflow.initial, *workflow.states]:
        if state not in seen:
            walk(state)
    return back


def _rows(workflow: Workflow, pairs, back: set[tuple[str, str]]) -> dict[str, int]:
    """Each state's row: the longest way to it from the initial state without going back, so an
    exit reachable from several states (withdrawn, rejected) sits below all of them."""
    row = {s: 0 for s in workflow.states}
    forward = [p for p in pairs if p not in back]
    for _ in workflow.states:  # relax until stable: at most one pass per state in an acyclic graph
        moved = False
        for source, dest in forward:
            if row[dest] < row[source] + 1:
                row[dest], moved = row[source] + 1, True
        if not moved:
            break
    return row


def layout(workflow: Workflow, current: Optional[str] = None) -> Diagram:
    pairs = _steps_between(workflow)
    back = _back_pairs(workflow, pairs)
    rows = _rows(workflow, pairs, back)
    exits = {s for s in workflow.states if _is_exit(workflow, s)}
    by_row: dict[int, list[str]] = {}
    for state in sorted(workflow.states, key=lambda s: s in exits):  # the table's order, exits last
        by_row.setdefault(rows[state], []).append(state)
    widest = max(len(states) for states in by_row.values())
    content_w = widest * BOX_W + (widest - 1) * GAP_X
    # Arrows that skip rows run in a lane on the left, arrows going back in a lane on the right;
    # arrows into the same state share its lane.
    long_dests = sorted({d for (s, d) in pairs if (s, d) not in back and rows[d] - rows[s] > 1}, key=rows.get)
    back_dests = sorted({d for (s, d) in back}, key=rows.get)
    left = {d: i for i, d in enumerate(long_dests)}
    right = {d: i for i, d in enumerate(back_dests)}
    x_content = MARGIN + LANE * len(left)
    width = x_content + content_w + LANE * len(right) + MARGIN

    boxes: dict[str, Box] = {}
    for r, states in sorted(by_row.items()):
        row_w = len(states) * BOX_W + (len(states) - 1) * GAP_X
        x0 = x_content + (content_w - row_w) / 2
        for i, state in enumerate(states):
            boxes[state] = Box(state, workflow.state_label(state), x0 + i * (BOX_W + GAP_X),
                               MARGIN + r * (BOX_H + GAP_Y), BOX_W, BOX_H, state == current,
                               state in workflow.final or _no_way_out(workflow, state), state == workflow.initial)
    last_row = max(by_row)
    height = MARGIN * 2 + (last_row + 1) * BOX_H + last_row * GAP_Y

    edges = []
    for (source, dest), steps in pairs.items():
        a, b = boxes[source], boxes[dest]
        label = "／".join(dict.fromkeys(t.label for t in steps))
        system = all(t.system for t in steps)
        exit_ = dest in exits
        ya, yb = a.y + a.h / 2, b.y + b.h / 2
        if (source, dest) in back:
            x = x_content + content_w + LANE * (right[dest] + 0.5)
            path = f"M{a.x + a.w:.0f},{ya:.0f} H{x:.0f} V{yb + 6:.0f} H{b.x + b.w:.0f}"
            edges.append(Edge(source, dest, label, path, x, (ya + yb) / 2, True, system, exit_))
        elif dest in left and rows[dest] - rows[source] > 1:
            x = MARGIN + LANE * (len(left) - left[dest] - 0.5)
            path = f"M{a.x:.0f},{ya:.0f} H{x:.0f} V{yb - 6:.0f} H{b.x:.0f}"
            edges.append(Edge(source, dest, label, path, x, (ya + yb) / 2, False, system, exit_))
        else:
            x1, y1, x2, y2 = a.x + a.w / 2, a.y + a.h, b.x + b.w / 2, b.y
            path = f"M{x1:.0f},{y1:.0f} L{x2:.0f},{y2:.0f}"
            edges.append(Edge(source, dest, label, path, (x1 + x2) / 2, (y1 + y2) / 2, False, system, exit_))
    return Diagram(workflow.kind, workflow.label, width, height, tuple(boxes.values()), tuple(edges), current)


def _no_way_out(workflow: Workflow, state: str) -> bool:
    return not any(state in t.sources and t.dest for t in workflow.transitions.values())


def _is_exit(workflow: Workflow, state: str) -> bool:
    """A side exit: a dead end that several states lead to (withdrawn, rejected), not the main end."""
    sources = {s for t in workflow.transitions.values() if t.dest == state for s in t.sources}
    return _no_way_out(workflow, state) and len(sources) > 1
