"""Small helpers shared by tests: the demo people and a ready document."""
from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SECRETARY = "secretary@card.qingchuan.example"
DIRECTOR = "director@card.qingchuan.example"
REVIEWER = "reviewer@wjw.qingchuan.example"
REVIEWER2 = "reviewer2@wjw.qingchuan.example"
SECTION_HEAD = "head@wjw.qingchuan.example"
LEADER = "leader@wjw.qingchuan.example"
LEADER2 = "leader2@wjw.qingchuan.example"
OTHER_SECRETARY = "secretary@nurs.qingchuan.example"


def notice_data(**overrides) -> dict:
    data = yaml.safe_load((ROOT / "demo" / "meeting_notice.yaml").read_text(encoding="utf-8"))
    data.update(overrides)
    return data


def new_document(session, email: str = SECRETARY, **overrides) -> int:
    from qcflow import engine

    return engine.create_case(session, "document", email, notice_data(**overrides)).id


def fire(case_id: int, trigger: str, email: str | None, **kwargs):
    from qcflow import engine
    from qcflow.store.db import unit_of_work

    with unit_of_work() as session:
        return engine.fire(session, "document", case_id, trigger, email=email, **kwargs)


def reconfigure() -> None:
    """Rebuild the runtime's settings from the (monkeypatched) QCFLOW_* environment; the clock stays."""
    from qcflow import bootstrap
    from qcflow.core import runtime
    from qcflow.core.settings import Settings

    bootstrap.configure(Settings(), runtime.current().clock)


def rendered(session, found):
    """Outbox rows with their mail rendered, as delivery will send them (rows are detached first, so
    rendering writes nothing back)."""
    from notifications.delivery import render_row
    from qcflow.services.mail import enrich

    rows = [found] if not isinstance(found, (list, tuple)) else list(found)
    extra = enrich(session, rows)
    for row in rows:
        session.expunge(row)
        render_row(row, extra.get(row.id, {}))
    return found if not isinstance(found, (list, tuple)) else rows
