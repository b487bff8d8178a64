"""The history's hash chain: written by every path that appends history (a step, the bulk import,
a sweep's escalation, the migration's backfill), and a raw-SQL change of a row is found by
`qcflow audit verify` and by `case show`."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime

import pytest
from sqlalchemy import text
from sqlmodel import select

from models import CaseEvent
from qcflow.core.clock import local_zone
from qcflow.core.history_chain import GENESIS, event_hash
from qcflow.services import audit
from qcflow.services import sweep as deadlines
from qcflow.services.queries import case_detail
from qcflow.store.db import get_engine, unit_of_work
from tests.helpers import LEADER, REVIEWER, ROOT, SECRETARY, fire, new_document

pytestmark = pytest.mark.db


def _issued_document() -> int:
    with unit_of_work() as s:
        case_id = new_document(s)
    fire(case_id, "submit", SECRETARY)
    fire(case_id, "claim", REVIEWER)
    fire(case_id, "approve", REVIEWER, comment="同意")
    fire(case_id, "sign", LEADER)  # then `issue`, automatically
    return case_id


def _events(case_id: int) -> list[CaseEvent]:
    with unit_of_work() as s:
        return list(s.exec(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)).all())


def _tamper(sql: str, **params) -> None:
    """What someone with the database's password does, bypassing qcflow (on PostgreSQL, also the
    append-only trigger, as its owner could)."""
    engine = get_engine()
    with engine.begin() as conn:
        postgres = conn.dialect.name == "postgresql"
        if postgres:
            conn.execute(text("ALTER TABLE caseevent DISABLE TRIGGER caseevent_append_only"))
        conn.execute(text(sql), params)
        if postgres:
            conn.execute(text("ALTER TABLE caseevent ENABLE TRIGGER caseevent_append_only"))


def _detail(case_id: int) -> dict:
    from qcflow import engine

    with unit_of_work() as s:
        return case_detail(s, engine.load_case(s, "document", case_id))


def test_each_step_chains_onto_the_previous_event_and_the_history_verifies(demo):
    case_id = _issued_document()
    events = _events(case_id)
    assert [e.trigger for e in events] == ["create", "submit", "claim", "approve", "sign", "issue"]
    assert events[0].prev_hash == GENESIS
    for before, event in zip(events, events[1:]):
        assert event.prev_hash == before.hash
    for event in events:  # each hash is over the row as stored, recomputed here from its fields
        assert event.hash == event_hash(event.prev_hash, event.model_dump())
    with unit_of_work() as s:
        report = audit.verify(s)
    assert report.intact and report.cases == 1 and report.events == 6
    assert _detail(case_id)["history_intact"] is True and _detail(case_id)["history_warning"] == ""


def test_an_update_of_comment_and_actor_is_found_by_verify_and_case_show(demo):
    case_id, other = _issued_document(), _issued_document()
    approve = _events(case_id)[3]
    _tamper("UPDATE caseevent SET comment = :comment, actor_id = :actor WHERE id = :id",
            comment="不同意", actor=approve.actor_id + 1, id=approve.id)
    with unit_of_work() as s:
        report = audit.verify(s)
    assert not report.intact and report.cases == 2
    [broken] = report.broken
    assert (broken.case_id, broken.number, broken.event_id, broken.problem) == (case_id, 4, approve.id, "changed")
    assert broken.stored == approve.hash and broken.expected != approve.hash
    detail = _detail(case_id)
    assert detail["history_intact"] is False
    assert detail["history_warning"].startswith("历史记录校验失败：第 4 条记录被改动")
    assert _detail(other)["history_intact"] is True


def test_a_deleted_middle_row_is_found_at_the_row_after_it(demo):
    case_id = _issued_document()
    events = _events(case_id)
    _tamper("DELETE FROM caseevent WHERE id = :id", id=events[2].id)
    with unit_of_work() as s:
        broken = audit.verify_case(s, case_id)
    assert (broken.number, broken.event_id, broken.problem) == (3, events[3].id, "unlinked")
    assert broken.stored == events[2].hash and broken.expected == events[1].hash
    assert _detail(case_id)["history_warning"].startswith("历史记录校验失败：第 3 条记录")


def test_a_row_written_around_the_engine_has_no_hash_and_is_reported(demo):
    case_id = _issued_document()
    _tamper("INSERT INTO caseevent (case_id, \"trigger\", from_state, to_state, actor_id, comment, details, at) "
            "SELECT case_id, 'approve', 'issued', 'issued', actor_id, '补录', details, at FROM caseevent "
            "WHERE id = (SELECT MAX(id) FROM caseevent)")
    with unit_of_work() as s:
        broken = audit.verify_case(s, case_id)
    assert (broken.number, broken.problem) == (7, "unhashed")


def test_the_bulk_import_chains_its_rows_as_a_step_does(demo):
    from qcflow.services import deaths_import

    with unit_of_work() as s:
        deaths_import.load_low_risk_groups(s, ROOT / "demo" / "deaths" / "low_risk_drg_2026.csv", 2026)
    deaths_import.import_file(demo, ROOT / "demo" / "deaths" / "sample_deaths.csv", "QCH1", REVIEWER)
    with unit_of_work() as s:
        report = audit.verify(s, "death_review")
        first_case = s.exec(select(CaseEvent.case_id).order_by(CaseEvent.id)).first()
    assert report.intact and report.cases > 100 and report.events == 2 * report.cases
    events = _events(first_case)
    assert events[0].prev_hash == GENESIS and events[1].prev_hash == events[0].hash != ""


def test_a_sweeps_escalation_note_is_chained_and_a_later_step_chains_onto_it(demo):
    def at(day: str) -> datetime:
        return datetime.fromisoformat(f"{day}T09:00:00").replace(tzinfo=local_zone())

    with unit_of_work() as s:
        case_id = new_document(s)
    fire(case_id, "submit", SECRETARY, now=at("2026-11-02"))
    with unit_of_work() as s:
        assert deadlines.sweep(s, now=at("2026-11-20")).escalated
    fire(case_id, "claim", REVIEWER, now=at("2026-11-20"))
    triggers = [e.trigger for e in _events(case_id)]
    assert triggers == ["create", "submit", "escalate", "claim"]
    with unit_of_work() as s:
        assert audit.verify(s).intact


def test_the_migration_chains_the_history_written_before_it(tmp_path):
    from alembic import command
    from alembic.config import Config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url)
    command.upgrade(cfg, "0006")
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO qc_case (id, kind, state, version, round, title, data, created_at, updated_at) "
                          "VALUES (1, 'document', 'draft', 2, 0, '旧公文', '{}', '2026-01-05 01:00:00.000000', "
                          "'2026-01-05 01:00:00.000000')"))
        for trigger, comment in (("create", ""), ("edit", "改了标题")):
            conn.execute(text("INSERT INTO caseevent (case_id, \"trigger\", from_state, to_state, comment, details, at) "
                              "VALUES (1, :t, 'draft', 'draft', :c, '{\"changed\": [\"title\"]}', "
                              "'2026-01-05 01:00:00.000000')"), {"t": trigger, "c": comment})
    command.upgrade(cfg, "heads")
    with engine.begin() as conn:
        rows = conn.execute(text("SELECT prev_hash, hash FROM caseevent ORDER BY id")).all()
    engine.dispose()
    assert rows[0][0] == GENESIS and rows[1][0] == rows[0][1] and all(len(h) == 64 for _, h in rows)


@pytest.mark.skipif(not os.environ.get("QCFLOW_TEST_DATABASE_URL"), reason="the append-only trigger is PostgreSQL's")
def test_on_postgresql_the_history_refuses_update_and_delete(demo):
    from sqlalchemy.exc import DBAPIError

    case_id = _issued_document()
    for sql in ("UPDATE caseevent SET comment = 'x' WHERE case_id = :id", "DELETE FROM caseevent WHERE case_id = :id"):
        with pytest.raises(DBAPIError, match="只能追加"):
            with get_engine().begin() as conn:
                conn.execute(text(sql), {"id": case_id})
    assert len(_events(case_id)) == 6


# --- the command ---------------------------------------------------------------------------------

def _qcflow(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qcflow", *args], capture_output=True, text=True, env=dict(os.environ),
                          cwd=ROOT, timeout=60)


def test_audit_verify_reports_the_first_broken_link_and_exits_non_zero(demo):
    case_id = _issued_document()
    ok = _qcflow("audit", "verify")
    assert ok.returncode == 0, ok.stderr
    assert "办理记录校验通过：1 个事项、6 条记录" in ok.stdout
    sign = _events(case_id)[4]
    _tamper("UPDATE caseevent SET comment = '代签', actor_id = NULL WHERE id = :id", id=sign.id)

    broken = _qcflow("audit", "verify")
    assert broken.returncode == 5 and "Traceback" not in broken.stderr
    assert f"document #{case_id}：历史记录校验失败：第 5 条记录被改动" in broken.stdout
    report = json.loads(_qcflow("--json", "audit", "verify", "--case", "document", str(case_id)).stdout)
    assert report["intact"] is False and report["broken"][0]["number"] == 5
    assert report["broken"][0]["event_id"] == sign.id and report["broken"][0]["problem"] == "changed"

    shown = _qcflow("case", "show", "document", str(case_id), "--as", SECRETARY)
    assert shown.returncode == 0, shown.stderr
    assert "历史记录校验失败：第 5 条记录被改动" in shown.stdout


def test_audit_verify_of_an_unknown_case_says_so(demo):
    result = _qcflow("audit", "verify", "--case", "document", "999")
    assert result.returncode == 2 and "没有编号为 999" in result.stderr and "Traceback" not in result.stderr
