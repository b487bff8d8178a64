"""Previews change nothing: `deadlines sweep --as-of` a future day (CLI as a child process) and the
flow's `as_of` print what would be sent and keep nothing, unless forced; a past day sweeps now;
nonsense dates get a Chinese error. The demo, run twice, adds no cases and takes no numbers."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sqlmodel import select

from models import Case, CaseEvent, Deadline, Dispatch, DocumentCounter, DocumentNumber, OutboxMessage, TaskLink
from qcflow.store.db import unit_of_work
from tests.helpers import ROOT, SECRETARY, fire, new_document

pytestmark = pytest.mark.db


def _qcflow(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ}
    env.pop("QCFLOW_SMTP_HOST", None)
    return subprocess.run([sys.executable, "-m", "qcflow", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=120)


def _state() -> dict:
    """Everything a sweep could write."""
    with unit_of_work() as s:
        return {
            "mails": len(s.exec(select(OutboxMessage)).all()), "ledger": len(s.exec(select(Dispatch)).all()),
            "links": len(s.exec(select(TaskLink)).all()), "events": len(s.exec(select(CaseEvent)).all()),
            "deadlines": sorted((d.id, d.next_action_at, d.reminded_at, d.escalated_at)
                                for d in s.exec(select(Deadline)).all()),
            "cases": sorted((c.id, c.state, c.version) for c in s.exec(select(Case)).all()),
        }


@pytest.fixture
def waiting_review(demo):
    """A document submitted on the test day (Tue 2026-11-24): its review is due Tue 12-01."""
    with unit_of_work() as s:
        case_id = new_document(s)
    fire(case_id, "submit", SECRETARY)
    return case_id


def test_a_future_as_of_previews_what_would_be_sent_and_changes_nothing(waiting_review):
    before = _state()
    result = _qcflow("--json", "deadlines", "sweep", "--as-of", "2026-12-10")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["preview"] is True and len(out["reminded"]) == 1 and len(out["escalated"]) == 1
    assert {m["label"] for m in out["would_send"]} == {"办理提醒", "逾期督办"}
    assert all(m["case_id"] == waiting_review for m in out["would_send"])
    assert _state() == before

    text = _qcflow("deadlines", "sweep", "--as-of", "2026-12-10")
    assert text.returncode == 0 and "预览" in text.stdout and "--force" in text.stdout and "✉" in text.stdout
    assert _state() == before


def test_force_acts_as_of_the_future_day(waiting_review):
    result = _qcflow("--json", "deadlines", "sweep", "--as-of", "2026-12-10", "--force")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["preview"] is False and len(out["reminded"]) == 1 and len(out["escalated"]) == 1
    with unit_of_work() as s:
        assert len(s.exec(select(OutboxMessage).where(OutboxMessage.template == "deadline_escalation")).all()) == 1


def test_today_or_a_past_day_sweeps_now(waiting_review):
    # due 12-01: nothing is due on the test day; a past as-of neither backdates nor previews
    for day in ("2026-11-24", "2026-11-02"):
        result = _qcflow("--json", "deadlines", "sweep", "--as-of", day)
        assert result.returncode == 0, result.stderr
        out = json.loads(result.stdout)
        assert out["preview"] is False and out["reminded"] == [] and out["escalated"] == []


@pytest.mark.parametrize("day, expected", [
    ("9999-12-31", "超出可处理的范围"),
    ("2026-02-30", "应为实际存在的日期"),
    ("abc", "格式 YYYY-MM-DD"),
    ("20261210", "格式"),
])
def test_nonsense_dates_are_refused_in_chinese_without_a_traceback(waiting_review, day, expected):
    before = _state()
    for command in (("deadlines", "sweep", "--as-of", day), ("due", "--as-of", day)):
        result = _qcflow(*command)
        assert result.returncode == 2, result.stderr
        assert expected in result.stderr and "Traceback" not in result.stderr + result.stdout
    assert _state() == before


def test_the_flow_previews_a_future_day_and_sends_nothing(harness, waiting_review):
    from flows.sweep_deadlines import sweep_deadlines

    before = _state()
    result = sweep_deadlines(as_of="2026-12-10")
    assert result["preview"] is True and result["reminded"] == 1 and result["escalated"] == 1
    assert result["mail"]["sent"] == 0 and "预览" in result["summary"]
    assert _state() == before
    acted = sweep_deadlines(as_of="2026-12-10", force=True)
    assert acted["preview"] is False and acted["escalated"] == 1


# --- the demo ---------------------------------------------------------------------------------------


def _demo_footprint() -> dict:
    with unit_of_work() as s:
        return {
            "cases": sorted((c.id, c.kind, c.state, c.title) for c in s.exec(select(Case)).all()),
            "counters": sorted((c.organ_code, c.year, c.last_seq) for c in s.exec(select(DocumentCounter)).all()),
            "numbers": sorted((n.case_id, n.seq) for n in s.exec(select(DocumentNumber)).all()),
        }


def test_the_demo_run_twice_adds_no_cases_and_takes_no_numbers(db_url, monkeypatch, capsys):
    from qcflow.run import demo

    monkeypatch.setenv("QCFLOW_SINK_PORT", "0")
    from tests.helpers import reconfigure

    reconfigure()
    assert demo.walk_story() == 0  # the story once: one document issued, its number taken
    demo.seed_waiting_document()  # what `serve --demo` adds on its first start
    first = _demo_footprint()
    assert len(first["numbers"]) == 1 and first["counters"][0][2] == 1
    assert demo.walk_story() == 0  # a second `qcflow demo` (scripts/run.sh again)
    demo.prepare()
    assert demo.seed_waiting_document() is None  # a restart of `serve --demo`
    assert "不再占用文号" in capsys.readouterr().out
    assert _demo_footprint() == first
