"""A sweep never fails as a whole: a deadline that meets a concurrent change (a row another
transaction holds, a failing write) is retried once, then left for the next sweep and reported;
every other deadline's reminders and escalations go out in the same run."""
from __future__ import annotations

import threading
from datetime import date, datetime, time

import pytest
from sqlmodel import select

from models import Case, Deadline, Dispatch, OutboxMessage
from qcflow.core.clock import local_zone
from qcflow.services import sweep as deadlines
from qcflow.store.db import unit_of_work
from qcflow.store.raw import Raw
from tests.conftest import PG_URL
from tests.helpers import SECRETARY, fire, new_document

pytestmark = pytest.mark.db


def at(day: str, hour: int = 9) -> datetime:
    return datetime.combine(date.fromisoformat(day), time(hour), tzinfo=local_zone())


def _submitted(count: int, on: str = "2026-11-02") -> list[int]:
    ids = []
    for i in range(count):
        with unit_of_work() as s:
            ids.append(new_document(s, title=f"会议通知 {i}"))
        fire(ids[-1], "submit", SECRETARY, now=at(on))
    return ids


def _deadline_of(case_id: int) -> int:
    with unit_of_work() as s:
        return s.exec(select(Deadline.id).where(Deadline.case_id == case_id)).one()


def _mailed_cases(template: str) -> set[int]:
    with unit_of_work() as s:
        return set(s.exec(select(OutboxMessage.case_id).where(OutboxMessage.template == template)).all())


@pytest.mark.skipif(bool(PG_URL), reason="a SQLite trigger plays the failing write; PostgreSQL has its own test")
def test_one_failing_deadline_is_skipped_and_reported_the_others_go_out(demo):
    first, broken, last = _submitted(3)
    skipped = _deadline_of(broken)
    with unit_of_work() as s:  # the database refuses every link for one case, as a lost lock would
        Raw(s).run(f"CREATE TRIGGER refuse_one BEFORE INSERT ON tasklink WHEN NEW.case_id = {broken} "
                   "BEGIN SELECT RAISE(ABORT, 'database is locked'); END")
    with unit_of_work() as s:
        report = deadlines.sweep(s, now=at("2026-11-20"))
    assert report.conflicts == [skipped]
    assert sorted(report.reminded) == sorted(report.escalated) == sorted([_deadline_of(first), _deadline_of(last)])
    assert "4 项已发送，1 项因并发冲突跳过，将在下次处理" in report.summary()  # 2 reminders + 2 escalations
    assert _mailed_cases("deadline_reminder") == {first, last}
    with unit_of_work() as s:  # nothing of the skipped one was kept: no ledger row, no reminder mark
        assert s.exec(select(Dispatch).where(Dispatch.case_id == broken)).all() == []
        assert s.get(Deadline, skipped).reminded_at is None

    with unit_of_work() as s:
        Raw(s).run("DROP TRIGGER refuse_one")
    with unit_of_work() as s:
        again = deadlines.sweep(s, now=at("2026-11-20"))
    assert again.conflicts == [] and again.reminded == again.escalated == [skipped]
    assert _mailed_cases("deadline_reminder") == {first, broken, last}


@pytest.mark.skipif(not PG_URL, reason="row locks held by another transaction: PostgreSQL")
def test_a_report_edited_by_another_transaction_skips_only_that_deadline(demo, monkeypatch):
    from qcflow import engine
    from qcflow.services.reports import open_reports

    monkeypatch.setattr(deadlines, "LOCK_WAIT_SECONDS", 0.5)
    with unit_of_work() as s:
        open_reports(s, "half_year", now=at("2026-06-01"))
    with unit_of_work() as s:
        cases = {c.title: c.id for c in s.exec(select(Case).where(Case.kind == "report")).all()}
    card = next(i for t, i in cases.items() if "心血管" in t)
    nurs = next(i for t, i in cases.items() if "护理" in t)
    card_deadline, nurs_deadline = _deadline_of(card), _deadline_of(nurs)

    holding, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def edit_and_hold() -> None:
        try:
            with unit_of_work() as s:
                engine.fire(s, "report", card, "edit", email=SECRETARY, changes={"summary": "草稿：质控督查 3 次"},
                            now=at("2026-07-06", 8))
                holding.set()
                release.wait(30)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
            holding.set()

    editor = threading.Thread(target=edit_and_hold)
    editor.start()
    assert holding.wait(30)
    try:
        with unit_of_work() as s:
            report = deadlines.sweep(s, now=at("2026-07-06"))
    finally:
        release.set()
        editor.join(30)
    assert errors == []
    assert report.conflicts == [card_deadline]
    assert report.reminded == report.escalated == [nurs_deadline] and report.overdue == [nurs]
    assert "因并发冲突跳过，将在下次处理" in report.summary()
    with unit_of_work() as s:
        assert s.get(Case, card).data["summary"] == "草稿：质控督查 3 次"  # the edit committed, untouched
        assert s.get(Case, card).state == "open" and s.get(Case, nurs).state == "overdue"

    with unit_of_work() as s:  # the next sweep takes what was skipped
        again = deadlines.sweep(s, now=at("2026-07-06"))
    assert again.conflicts == [] and again.reminded == again.escalated == [card_deadline]
    assert again.overdue == [card]


# --- a lost race on the command line is a conflict (exit 3), not a refusal ---------------------------


def test_concurrent_cli_losers_exit_3_and_a_plain_wrong_step_still_exits_2(demo):
    import os
    import subprocess
    import sys

    from tests.helpers import LEADER, REVIEWER, REVIEWER2, ROOT, SECTION_HEAD

    with unit_of_work() as s:
        case_id = new_document(s)
    fire(case_id, "submit", SECRETARY)
    env = {**os.environ}
    env.pop("QCFLOW_SMTP_HOST", None)

    def qcflow(*args: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "qcflow", *args], env=env, cwd=ROOT, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    racers = {who: qcflow("case", "fire", "document", str(case_id), "approve", "--as", who)
              for who in (REVIEWER, REVIEWER2, SECTION_HEAD)}  # no --expected-version: as people type it
    outcomes = {who: (p.wait(120), p.stderr.read()) for who, p in racers.items()}
    codes = sorted(code for code, _ in outcomes.values())
    assert codes == [0, 3, 3], outcomes
    winner = next(who for who, (code, _) in outcomes.items() if code == 0)
    assert all("已被他人处理" in err and "审核通过" in err for code, err in outcomes.values() if code == 3)

    again = qcflow("case", "fire", "document", str(case_id), "approve", "--as", winner)  # one's own step
    assert again.wait(120) == 2 and "当前为待签发" in again.stderr.read()
    wrong = qcflow("case", "fire", "document", str(case_id), "request_changes", "--as", LEADER,
                   "--comment", "x")  # never this person's step: a refusal
    assert wrong.wait(120) == 2
