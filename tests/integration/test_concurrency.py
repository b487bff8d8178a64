"""Concurrency on a real database: separate OS processes, each with its own engine, against one URL.

The processes are started with the "spawn" context (nothing inherited but what we pass) and wait on
a Barrier, so they really act at the same moment. Runs on SQLite (BEGIN IMMEDIATE serialises the
writers) and on PostgreSQL when QCFLOW_TEST_DATABASE_URL is set (row locks, upsert counter).
"""
from __future__ import annotations

import multiprocessing as mp
import os
import queue
import time
import traceback
from collections import Counter
from typing import Any, Callable

import pytest
from sqlmodel import select

from models import Case, CaseEvent, DocumentCounter, DocumentNumber, OutboxMessage, Person, TaskLink
from qcflow.core.clock import local_date, utcnow
from qcflow.store.db import unit_of_work
from tests.helpers import (rendered, 
    DIRECTOR, LEADER, LEADER2, REVIEWER, REVIEWER2, SECRETARY, SECTION_HEAD, fire, new_document,
)

pytestmark = pytest.mark.db

SPAWN = mp.get_context("spawn")
ORGAN_CODE = "青卫质控"  # demo/directory.yaml
START_TIMEOUT = 120  # seconds a child may take to import and reach the barrier
RUN_TIMEOUT = 180  # seconds for the whole race


# ---------------------------------------------------------------- running children


def _child_env() -> dict[str, str]:
    """What a child needs to open its own engine on the test's database."""
    return {k: os.environ[k] for k in ("QCFLOW_DATABASE_URL", "QCFLOW_DATA_DIR", "QCFLOW_SECRET_KEY", "QCFLOW_FIXED_NOW")}


def _child_setup(env: dict[str, str]) -> None:
    os.environ.update(env)
    os.environ.pop("QCFLOW_SMTP_HOST", None)
    from qcflow import bootstrap

    bootstrap.configure()


def _child_main(target: Callable, index: int, env: dict[str, str], barrier, results, args: tuple) -> None:
    """Entry point of every child: set up, wait for the others, run `target`, report."""
    try:
        _child_setup(env)
        from qcflow.store.db import get_engine

        get_engine().connect().close()  # connect before the barrier, so the race is the work itself
        barrier.wait(timeout=START_TIMEOUT)
        results.put((index, "ok", target(*args)))
    except BaseException as exc:  # report everything, the parent asserts
        barrier.abort()  # the others stop waiting for a child that will never arrive
        results.put((index, "error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))
    finally:
        try:
            from qcflow.store.db import get_engine

            get_engine().dispose()
        except Exception:
            pass


def run_together(target: Callable, args_per_child: list[tuple]) -> list[Any]:
    """Run target(*args) in one spawned process per entry, all released at once; return their results."""
    n = len(args_per_child)
    barrier = SPAWN.Barrier(n)
    results = SPAWN.Queue()
    env = _child_env()
    procs = [SPAWN.Process(target=_child_main, args=(target, i, env, barrier, results, args), daemon=True)
             for i, args in enumerate(args_per_child)]
    for p in procs:
        p.start()
    collected: dict[int, tuple[str, Any]] = {}
    deadline = time.monotonic() + START_TIMEOUT + RUN_TIMEOUT
    try:
        while len(collected) < n:
            try:
                index, status, payload = results.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                dead = [p.exitcode for p in procs]
                pytest.fail(f"children did not all report in time (exit codes {dead}); got {collected}")
            collected[index] = (status, payload)
        for p in procs:
            p.join(timeout=30)
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
                p.join(timeout=5)
    errors = {i: payload for i, (status, payload) in collected.items() if status != "ok"}
    assert not errors, "a child failed:\n" + "\n".join(f"[{i}] {e}" for i, e in errors.items())
    return [collected[i][1] for i in range(n)]


# ---------------------------------------------------------------- what the children do


def _decide(case_id: int, trigger: str, email: str, expected_version: int | None, comment: str,
            hold_seconds: float) -> dict[str, Any]:
    """Fire one decision; keep the transaction (and its locks) open a little if it succeeds."""
    from qcflow import engine
    from qcflow.store.db import unit_of_work
    from states.rules import Conflict, Refused

    started = time.time()
    try:
        with unit_of_work() as session:
            engine.fire(session, "document", case_id, trigger, email=email, comment=comment,
                        expected_version=expected_version)
            time.sleep(hold_seconds)  # the others must queue behind this transaction
        outcome, message = "ok", ""
    except Conflict as exc:
        outcome, message = "conflict", str(exc)
    except Refused as exc:
        outcome, message = "refused", str(exc)
    return {"trigger": trigger, "email": email, "outcome": outcome, "message": message,
            "started": started, "ended": time.time()}


def _sign_all(case_ids: list[int], signer: str) -> list[int]:
    """Sign (and so issue and number) each case, one transaction each, as fast as possible."""
    from qcflow import engine
    from qcflow.store.db import unit_of_work

    for case_id in case_ids:
        with unit_of_work() as s:
            engine.fire(s, "document", case_id, "sign", email=signer)
    return case_ids


def _issue_many(count: int, drafter: str, reviewer: str, signer: str, abort_every: int) -> dict[str, Any]:
    """Issue `count` documents start to finish; every `abort_every`-th sign-off first rolls back once."""
    from qcflow import engine
    from qcflow.store.db import unit_of_work
    from tests.helpers import notice_data

    class Abort(Exception):
        pass

    started = time.time()
    issued = []
    for i in range(count):
        with unit_of_work() as s:
            case_id = engine.create_case(s, "document", drafter, notice_data(title=f"并发发文 {drafter} #{i}")).id
        with unit_of_work() as s:
            engine.fire(s, "document", case_id, "submit", email=drafter)
        with unit_of_work() as s:
            engine.fire(s, "document", case_id, "approve", email=reviewer)
        if abort_every and i % abort_every == 0:
            try:  # a number taken in a transaction that rolls back must come back
                with unit_of_work() as s:
                    engine.fire(s, "document", case_id, "sign", email=signer)
                    raise Abort()
            except Abort:
                pass
        with unit_of_work() as s:
            steps = engine.fire(s, "document", case_id, "sign", email=signer).steps
        issued.append({"case_id": case_id, "steps": steps})
    return {"issued": issued, "started": started, "ended": time.time()}


# ---------------------------------------------------------------- helpers in the parent


def _submitted_document() -> tuple[int, int]:
    with unit_of_work() as s:
        case_id = new_document(s)
    fire(case_id, "submit", SECRETARY)
    with unit_of_work() as s:
        return case_id, s.get(Case, case_id).version


def _traces(case_id: int) -> dict[str, Any]:
    with unit_of_work() as s:
        case = s.get(Case, case_id)
        events = s.exec(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)).all()
        mails = rendered(s, s.exec(select(OutboxMessage).where(OutboxMessage.case_id == case_id)).all())
        links = s.exec(select(TaskLink).where(TaskLink.case_id == case_id)).all()
        return {
            "state": case.state, "version": case.version, "triggers": [e.trigger for e in events],
            "mails": Counter(m.to_addr for m in mails), "links": Counter((l.email, l.case_version) for l in links),
        }


REVIEWER_MAILS = Counter({REVIEWER: 1, REVIEWER2: 1, SECTION_HEAD: 1})  # on submit: every commission_reviewer


# ---------------------------------------------------------------- the tests


def test_two_processes_approve_at_once_exactly_one_wins(demo):
    case_id, version = _submitted_document()
    results = run_together(_decide, [
        (case_id, "approve", REVIEWER, version, "", 0.5),
        (case_id, "approve", REVIEWER2, version, "", 0.5),
    ])
    outcomes = sorted(r["outcome"] for r in results)
    assert outcomes == ["conflict", "ok"], results
    winner = next(r for r in results if r["outcome"] == "ok")
    loser = next(r for r in results if r["outcome"] == "conflict")
    assert "已被他人处理" in loser["message"]
    # they really overlapped: the loser had started before the winner's transaction ended
    assert loser["started"] < winner["ended"], results

    after = _traces(case_id)
    assert after["state"] == "awaiting_signoff"
    assert after["version"] == version + 1
    assert after["triggers"] == ["create", "submit", "approve"]
    with unit_of_work() as s:
        approve = s.exec(select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.trigger == "approve")).one()
        assert s.get(Person, approve.actor_id).email == winner["email"]
    # one batch of sign-off mails (both leaders, once each) on top of the reviewers' mails from submit
    assert after["mails"] == REVIEWER_MAILS + Counter({LEADER: 1, LEADER2: 1})
    assert after["links"] == Counter({(REVIEWER, version): 1, (REVIEWER2, version): 1, (SECTION_HEAD, version): 1,
                                      (LEADER, version + 1): 1, (LEADER2, version + 1): 1})


def test_racing_different_decisions_leave_only_the_winners_traces(demo):
    case_id, version = _submitted_document()
    results = run_together(_decide, [
        (case_id, "approve", REVIEWER, version, "", 0.3),
        (case_id, "reject", REVIEWER2, version, "不符合发文条件", 0.3),
        (case_id, "request_changes", SECTION_HEAD, version, "请补充会议议程", 0.3),
    ])
    assert sorted(r["outcome"] for r in results) == ["conflict", "conflict", "ok"], results
    assert all("已被他人处理" in r["message"] for r in results if r["outcome"] == "conflict")
    winner = next(r for r in results if r["outcome"] == "ok")
    expected = {
        "approve": ("awaiting_signoff", Counter({LEADER: 1, LEADER2: 1})),
        "reject": ("rejected", Counter({SECRETARY: 1})),
        "request_changes": ("changes_requested", Counter({SECRETARY: 1})),
    }[winner["trigger"]]
    after = _traces(case_id)
    assert after["triggers"] == ["create", "submit", winner["trigger"]]
    assert (after["state"], after["version"]) == (expected[0], version + 1)
    assert after["mails"] == REVIEWER_MAILS + expected[1]


def test_two_approvals_without_expected_version_the_second_sees_the_new_state(demo):
    case_id, _ = _submitted_document()
    results = run_together(_decide, [
        (case_id, "approve", REVIEWER, None, "", 0.5),
        (case_id, "approve", REVIEWER2, None, "", 0.5),
    ])
    assert sorted(r["outcome"] for r in results) == ["ok", "refused"], results
    loser = next(r for r in results if r["outcome"] == "refused")
    assert "当前为待签发" in loser["message"]  # it read the winner's committed state, not a stale one
    after = _traces(case_id)
    assert after["triggers"] == ["create", "submit", "approve"]
    assert after["mails"] == REVIEWER_MAILS + Counter({LEADER: 1, LEADER2: 1})


# Modest by default; raise them to stress (e.g. QCFLOW_CONCURRENCY_PROCESSES=6 QCFLOW_CONCURRENCY_DOCS=50).
PROCESSES = int(os.environ.get("QCFLOW_CONCURRENCY_PROCESSES", "2"))
DOCS_PER_PROCESS = int(os.environ.get("QCFLOW_CONCURRENCY_DOCS", "10"))


def test_concurrent_issuance_numbers_are_gap_free_and_unique(demo):
    year_before = local_date(utcnow()).year
    # approvers and signers differ (four eyes); each process has its own drafter, reviewer and signer
    people = [(SECRETARY, REVIEWER, LEADER), (DIRECTOR, REVIEWER2, LEADER2),
              (SECRETARY, SECTION_HEAD, LEADER2), (DIRECTOR, REVIEWER, LEADER2)]
    results = run_together(_issue_many, [
        (DOCS_PER_PROCESS, *people[k % len(people)], 3) for k in range(PROCESSES)
    ])
    year_after = local_date(utcnow()).year
    total = PROCESSES * DOCS_PER_PROCESS
    # the processes really ran at the same time: every one started before any other had finished
    assert max(r["started"] for r in results) < min(r["ended"] for r in results), results
    issued = [d for r in results for d in r["issued"]]
    assert len(issued) == total
    for d in issued:
        assert d["steps"] == [("sign", "awaiting_signoff", "approved"), ("issue", "approved", "issued")]

    with unit_of_work() as s:
        numbers = s.exec(select(DocumentNumber)).all()
        counters = s.exec(select(DocumentCounter)).all()
        cases = s.exec(select(Case).where(Case.kind == "document")).all()
        issue_events = s.exec(select(CaseEvent).where(CaseEvent.trigger == "issue")).all()
    assert len({(n.organ_code, n.year) for n in numbers}) == 1
    organ_code, year = numbers[0].organ_code, numbers[0].year
    assert organ_code == ORGAN_CODE and year in (year_before, year_after)
    assert sorted(n.seq for n in numbers) == list(range(1, total + 1))  # no gap, no duplicate
    assert [(c.organ_code, c.year, c.last_seq) for c in counters] == [(organ_code, year, total)]
    issued_ids = sorted(d["case_id"] for d in issued)
    assert sorted(n.case_id for n in numbers) == issued_ids  # every issued case has exactly one number
    assert sorted(c.id for c in cases if c.state == "issued") == issued_ids
    assert sorted(e.case_id for e in issue_events) == issued_ids


def _numbers_are(expected_case_ids: list[int]) -> None:
    with unit_of_work() as s:
        numbers = s.exec(select(DocumentNumber)).all()
        counter = s.exec(select(DocumentCounter)).one()
    assert sorted(n.seq for n in numbers) == list(range(1, len(expected_case_ids) + 1))
    assert sorted(n.case_id for n in numbers) == sorted(expected_case_ids)
    assert counter.last_seq == len(expected_case_ids)


def test_the_first_numbers_of_a_year_taken_at_the_same_moment(demo):
    """No counter row exists yet: every process's upsert races to create it."""
    per_process = 3
    signers = [LEADER, LEADER2] * 2
    batches = []
    for _ in signers:
        batch = []
        for _ in range(per_process):
            case_id, _v = _submitted_document()
            fire(case_id, "approve", REVIEWER)
            batch.append(case_id)
        batches.append(batch)
    results = run_together(_sign_all, [(batch, signer) for batch, signer in zip(batches, signers)])
    assert sorted(sum(results, [])) == sorted(sum(batches, []))
    _numbers_are(sum(batches, []))
