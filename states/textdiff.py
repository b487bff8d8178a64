"""What changed in a text between two rounds: lines added, removed and changed, with the changed
characters marked inside a changed line. Pure; the page renders the rows as an ins/del table.

Chinese text has no spaces between words, so a changed line is compared character by character.
"""
from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Optional

SIMILAR = 0.5  # how alike two lines must be to be shown as one changed line


@dataclass(frozen=True)
class Segment:
    op: str  # equal | insert | delete
    text: str


@dataclass(frozen=True)
class DiffLine:
    op: str  # equal | insert | delete | replace | skip (unchanged lines left out)
    old_no: Optional[int]  # 1-based line number in the old text
    new_no: Optional[int]
    segments: tuple[Segment, ...] = ()
    skipped: int = 0  # for `skip`: how many unchanged lines


@dataclass(frozen=True)
class TextDiff:
    lines: tuple[DiffLine, ...]
    added: int  # lines only in the new text (a changed line counts once in each)
    removed: int

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)


def _inline(old: str, new: str) -> tuple[Segment, ...]:
    segments: list[Segment] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "equal":
            segments.append(Segment("equal", old[i1:i2]))
            continue
        if i2 > i1:
            segments.append(Segment("delete", old[i1:i2]))
        if j2 > j1:
            segments.append(Segment("insert", new[j1:j2]))
    return tuple(segments)


def _collapse(lines: list[DiffLine], context: int) -> list[DiffLine]:
    """Keep `context` unchanged lines around each change; say how many others were left out."""
    changed = [i for i, line in enumerate(lines) if line.op != "equal"]
    if not changed:
        return [DiffLine("skip", None, None, skipped=len(lines))] if lines else []
    keep = {j for i in changed for j in range(i - context, i + context + 1)}
    out: list[DiffLine] = []
    run: list[DiffLine] = []
    for i, line in enumerate(lines):
        if line.op == "equal" and i not in keep:
            run.append(line)
            continue
        if run:
            out.append(DiffLine("skip", run[0].old_no, run[0].new_no, skipped=len(run)))
            run = []
        out.append(line)
    if run:
        out.append(DiffLine("skip", run[0].old_no, run[0].new_no, skipped=len(run)))
    return out


def diff_text(old: str, new: str, context: int = 2) -> TextDiff:
    """The differences from `old` to `new`, line by line; unchanged stretches beyond `context` lines
    around a change are collapsed into one `skip` row."""
    a, b = (old or "").splitlines(), (new or "").splitlines()
    lines: list[DiffLine] = []
    added = removed = 0
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            lines += [DiffLine("equal", i1 + k + 1, j1 + k + 1, (Segment("equal", a[i1 + k]),)) for k in range(i2 - i1)]
            continue
        paired = min(i2 - i1, j2 - j1) if tag == "replace" else 0
        # A pair of lines is shown as one changed line only when they are alike; otherwise the
        # character marks would be noise, and the old line is shown removed and the new one added.
        similar = all(SequenceMatcher(None, a[i1 + k], b[j1 + k], autojunk=False).ratio() >= SIMILAR
                      for k in range(paired))
        paired = paired if similar else 0
        for k in range(paired):
            lines.append(DiffLine("replace", i1 + k + 1, j1 + k + 1, _inline(a[i1 + k], b[j1 + k])))
        lines += [DiffLine("delete", i + 1, None, (Segment("delete", a[i]),)) for i in range(i1 + paired, i2)]
        lines += [DiffLine("insert", None, j + 1, (Segment("insert", b[j]),)) for j in range(j1 + paired, j2)]
        removed += i2 - i1
        added += j2 - j1
    return TextDiff(tuple(_collapse(lines, context)), added, removed)
