"""What the hostile-input tests share: a table dump to prove a refusal stored nothing, the CLI run in-process,
and a scene with a case of each kind in a state where it takes content."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import SQLModel

from tests.helpers import DIRECTOR, REVIEWER, SECRETARY, new_document

CHINESE = re.compile(r"[\u4e00-\u9fff]")
EXAMPLES = int(os.environ.get("QCFLOW_FUZZ_EXAMPLES", "200"))  # thousands in a full run
DEATH = {"hospital": "QCH1", "record_no": "BA-0001", "admitted_on": "2026-11-01", "died_on": "2026-11-05",
         "department": "心内科", "diagnosis": "急性心肌梗死", "drg": "FR29", "autopsy": False,
         "adverse_grade": "", "patient_key": "k" * 64, "low_risk": True, "low_risk_source": "drg:2026",
         "discussion_due": "2026-11-12", "reported_via": "form"}


def dump(engine: Any) -> dict[str, list[tuple]]:
    """Every row of every table, in a stable order: equal before and after means nothing was stored."""
    out = {}
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            rows = conn.execute(select(table)).all()
            out[table.name] = sorted((tuple(map(repr, row)) for row in rows))
    return out


@dataclass
class Ran:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def run_cli(capsys: Any, *argv: str) -> Ran:
    """`qcflow ARGV` in this process: an exception escaping `main` is a traceback the person would see."""
    from qcflow.cli import main

    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    return Ran(code, captured.out, captured.err)


@dataclass
class Scene:
    document: int  # a draft (the secretary may edit and submit it)
    death: int  # a death review under investigation (the director may record the discussion)


def make_scene() -> Scene:
    from qcflow import engine
    from qcflow.store.db import unit_of_work

    with unit_of_work() as s:
        document = new_document(s)
        case = engine.create_case(s, "death_review", REVIEWER, {"title": "死亡病例 QCH1", **DEATH})
        assert engine.fire_as_system(s, case, "screen")
    with unit_of_work() as s:
        engine.fire(s, "death_review", case.id, "assign", email=REVIEWER,
                    changes={"center": "CARD", "reviewers": [DIRECTOR]})
    with unit_of_work() as s:
        engine.fire(s, "death_review", case.id, "start_investigation", email=DIRECTOR)
    return Scene(document, case.id)


def write(tmp: Path, name: str, content: str | bytes) -> str:
    path = tmp / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return str(path)


__all__ = ["CHINESE", "EXAMPLES", "Ran", "Scene", "dump", "make_scene", "run_cli", "write", "SECRETARY",
           "DIRECTOR", "REVIEWER"]
