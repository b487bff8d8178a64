"""Checking the history's hash chains: the first broken link of each case, if any.

Each event's stored hash is recomputed from its fields and its stored prev_hash (an edited row fails
here), and its prev_hash must be the hash of the event before it (a removed, inserted or reordered
row fails here). Removing a case's latest events leaves a shorter chain that is still whole: the
chain proves what is there was not changed, not that nothing was cut off the end.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Iterable, Iterator, Optional

from sqlmodel import Session

from qcflow.core.history_chain import GENESIS, event_hash
from qcflow.store.raw import Raw

# What a check reads of each event, in this order (a page that shows the history reads these too: one query).
EVENT_COLUMNS = 'e.id, e.case_id, e."trigger", e.from_state, e.to_state, e.actor_id, e.comment, e.details, e.at, ' \
                "e.prev_hash, e.hash"
_COLUMNS = f"c.kind, {EVENT_COLUMNS}"
_FROM = "FROM caseevent e JOIN qc_case c ON c.id = e.case_id"


@dataclass(frozen=True)
class BrokenLink:
    kind: str
    case_id: int
    number: int  # the event's place in its case's history, from 1
    event_id: int
    problem: str  # changed | unlinked | unhashed
    explanation: str  # in Chinese, for the clerk: what happened to the row
    stored: str
    expected: str

    def warning(self) -> str:
        return f"历史记录校验失败：第 {self.number} 条记录{self.explanation}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Report:
    cases: int = 0
    events: int = 0
    broken: list[BrokenLink] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.broken

    def as_dict(self) -> dict[str, Any]:
        return {"intact": self.intact, "cases": self.cases, "events": self.events,
                "broken": [b.as_dict() for b in self.broken]}


def verify_case(session: Session, case_id: int) -> Optional[BrokenLink]:
    """The first broken link of one case's history; None when it is whole."""
    raw = Raw(session)
    rows = raw.rows(f"SELECT {_COLUMNS} {_FROM} WHERE e.case_id = ? ORDER BY e.id", [case_id])
    return next(iter(_check(rows).broken), None)


def first_break(kind: str, rows: list[tuple]) -> Optional[BrokenLink]:
    """The first broken link of one case's events, read as EVENT_COLUMNS (more columns may follow)."""
    return _first_break([(kind, *row) for row in rows])


def verify(session: Session, kind: Optional[str] = None, case_id: Optional[int] = None) -> Report:
    """Every case's chain (or one case's): how many were checked, and the first broken link of each."""
    raw = Raw(session)
    where, params = [], []
    if kind is not None:
        where.append("c.kind = ?")
        params.append(kind)
    if case_id is not None:
        where.append("e.case_id = ?")
        params.append(case_id)
    condition = f" WHERE {' AND '.join(where)}" if where else ""
    return _check(raw.rows(f"SELECT {_COLUMNS} {_FROM}{condition} ORDER BY e.case_id, e.id", params))


def _check(rows: Iterable[tuple]) -> Report:
    report = Report()
    for case_rows in _by_case(rows):
        report.cases += 1
        report.events += len(case_rows)
        broken = _first_break(case_rows)
        if broken is not None:
            report.broken.append(broken)
    return report


def _by_case(rows: Iterable[tuple]) -> Iterator[list[tuple]]:
    current: list[tuple] = []
    for row in rows:
        if current and current[0][2] != row[2]:
            yield current
            current = []
        current.append(row)
    if current:
        yield current


def _first_break(rows: list[tuple]) -> Optional[BrokenLink]:
    expected_prev = GENESIS
    for number, (kind, event_id, case_id, trigger, before, after, actor_id, comment, details, at, prev_hash,
                 stored_hash, *_) in enumerate(rows, start=1):
        def broken(problem: str, explanation: str, stored: str, expected: str) -> BrokenLink:
            return BrokenLink(kind, case_id, number, event_id, problem, explanation, stored, expected)

        if not stored_hash:
            return broken("unhashed", "没有校验值（不是由系统写入的）", "", "")
        if prev_hash != expected_prev:
            return broken("unlinked", "与前一条记录的链接不符（它之前的记录被删除、插入或调换）", prev_hash, expected_prev)
        fields = {"case_id": case_id, "trigger": trigger, "from_state": before, "to_state": after,
                  "actor_id": actor_id, "comment": comment, "details": _json(details), "at": _moment(at)}
        recomputed = event_hash(prev_hash, fields)
        if recomputed != stored_hash:
            return broken("changed", "被改动（办理人、意见、状态、时间或附加信息与写入时不同）", stored_hash, recomputed)
        expected_prev = stored_hash
    return None


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def _moment(value: Any) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value
