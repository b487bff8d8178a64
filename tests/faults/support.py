"""What the fault-injection tests share: their size (reduced in the normal suite, full with
QCFLOW_FAULTS_SCALE=full, as scripts/faults.sh runs them), the figures they measure, and a dump of
the database to compare before and after an attack."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import SQLModel

FULL = os.environ.get("QCFLOW_FAULTS_SCALE", "").strip().lower() == "full"
FIGURES_FILE = os.environ.get("QCFLOW_FAULTS_FIGURES", "")  # scripts/faults.sh collects the figures here


def size(reduced: int, full: int) -> int:
    """How big an attack is: `reduced` in the normal suite, `full` in the full run."""
    return full if FULL else reduced


def record(test: str, **figures: int) -> None:
    """Append what one test measured (counts it computed, never constants) for scripts/faults.sh."""
    if not FIGURES_FILE:
        return
    with Path(FIGURES_FILE).open("a", encoding="utf-8") as out:
        out.write(json.dumps({"test": test, **figures}, ensure_ascii=False) + "\n")


def dump(engine: Any, skip: tuple[str, ...] = ()) -> dict[str, list[tuple]]:
    """Every row of every table but `skip`, in a stable order: equal before and after means unchanged."""
    out = {}
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            if table.name in skip:
                continue
            rows = conn.execute(select(table)).all()
            out[table.name] = sorted(tuple(map(repr, row)) for row in rows)
    return out


def table_changes(before: dict[str, list[tuple]], after: dict[str, list[tuple]]) -> dict[str, tuple[int, int]]:
    """Per changed table: (rows gone since `before`, rows new in `after`)."""
    changed = {}
    for name in sorted(set(before) | set(after)):
        old, new = set(before.get(name, [])), set(after.get(name, []))
        if old != new:
            changed[name] = (len(old - new), len(new - old))
    return changed
