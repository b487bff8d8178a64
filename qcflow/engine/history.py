"""Appending to a case's history outside a step (e.g. a sweep's escalation note), chained like a step's rows.

A step reads the head of its case's chain with the history it loads anyway (engine/core.py); this
is for writers that hold no case lock: on PostgreSQL they lock the cases first, so a step on the
same case cannot chain onto the same head at the same time.
"""
from __future__ import annotations

from typing import Any

from qcflow.core.history_chain import GENESIS, chain
from qcflow.store.raw import Raw

HASH_COLUMNS = ("prev_hash", "hash")


def heads(raw: Raw, case_ids: list[int]) -> dict[int, str]:
    """The hash of each case's latest event (GENESIS for a case without history)."""
    if not case_ids:
        return {}
    marks = raw.in_list(case_ids)
    if raw.postgres:
        raw.rows(f"SELECT id FROM qc_case WHERE id IN ({marks}) ORDER BY id FOR UPDATE", case_ids)
    rows = raw.rows(f"SELECT e.case_id, e.hash FROM caseevent e WHERE e.id IN "
                    f"(SELECT MAX(id) FROM caseevent WHERE case_id IN ({marks}) GROUP BY case_id)", case_ids)
    found = dict.fromkeys(case_ids, GENESIS)
    found.update({case_id: head for case_id, head in rows})
    return found


def append(raw: Raw, events: list[dict[str, Any]]) -> None:
    """Insert event rows (dicts with the caseevent columns but the hashes), each chained onto its case."""
    if not events:
        return
    by_case: dict[int, list[dict[str, Any]]] = {}
    for event in events:
        by_case.setdefault(event["case_id"], []).append(event)
    head = heads(raw, sorted(by_case))
    for case_id, own in by_case.items():
        chain(head[case_id], own)
    raw.insert("caseevent", events, times=("at",), jsons=("details",))
