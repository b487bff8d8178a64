"""The hash chain of a case's history: each event's hash covers its own fields and the previous
event's hash, so an edited, removed or inserted row breaks the chain from there on.

Pure: the engine writes `prev_hash` and `hash` with every event, the audit service recomputes them.
The canonical form below is part of the stored data: changing it makes every existing chain fail.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any, Mapping

GENESIS = ""  # the previous hash of a case's first event

# What a hash covers: everything a reader of the history sees (the row id is left out: the
# database assigns it at insert, after the hash is computed; order is what prev_hash chains).
FIELDS = ("case_id", "trigger", "from_state", "to_state", "actor_id", "comment", "details", "at")


def canonical_time(moment: datetime) -> str:
    """UTC with microseconds; a naive moment is UTC (as the ORM reads SQLite's stored text)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(event: Mapping[str, Any]) -> str:
    """One event's fields as canonical JSON (sorted keys, no spaces, UTF-8 text as is)."""
    values = {name: event.get(name) for name in FIELDS}
    values["at"] = canonical_time(values["at"])
    values["comment"] = values["comment"] or ""
    values["details"] = values["details"] or {}
    return json.dumps(values, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def event_hash(prev_hash: str, event: Mapping[str, Any]) -> str:
    return hashlib.sha256(f"{prev_hash}\n{canonical(event)}".encode("utf-8")).hexdigest()


def chain(prev_hash: str, events: list[dict[str, Any]]) -> str:
    """Give each event (in order, all of one case) its `prev_hash` and `hash`; returns the new head."""
    for event in events:
        event["prev_hash"] = prev_hash
        prev_hash = event["hash"] = event_hash(prev_hash, event)
    return prev_hash
