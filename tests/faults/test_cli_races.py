"""Races through the `qcflow` command itself: N processes, released together, each runs the CLI's
`main` (the code `python -m qcflow` runs, exit code and messages included) on the same steps.

Exactly one decision per step lands; every loser exits 3 with "已被他人处理" (or 2, "当前为…", when
the winner was the same person acting without a version: their own earlier step, not a race);
sign-offs raced by two leaders give each document one number, 1..K with no gap.
Runs on SQLite and, with QCFLOW_TEST_DATABASE_URL, on PostgreSQL (row locks, the counter upsert).
"""
from __future__ import annotations

import contextlib
import io
import random
from collections import Counter

import pytest
from sqlmodel import select

from models import Case, CaseEvent, DocumentCounter, DocumentNumber, OutboxMessage
from qcflow.store.db import unit_of_work
from tests.faults.support import record, size
from tests.helpers import LEADER, LEADER2, REVIEWER, REVIEWER2, SECRETARY, SECTION_HEAD, fire, new_document
from tests.integration.test_concurrency import run_together

pytestmark = pytest.mark.db

# The first three act without a version, as someone typing the command would: their steps all leave
# 已提交 only (a `reject` typed without a version may still land after an approval, since a reviewer may
# reject a document awaiting sign-off: that is a later decision the rules allow, not a lost race).
# The rest act with the version they saw, as the web page does: then `reject` races too.
DECIDERS = [(REVIEWER, "approve", ""), (SECTION_HEAD, "request_changes", "请补充会议议程"),
            (REVIEWER2, "approve", ""), (REVIEWER2, "reject", "不符合发文条件"),
            (SECTION_HEAD, "approve", ""), (REVIEWER, "request_changes", "请补充会议议程")]
UNVERSIONED = 3
AFTER = {"approve": ("awaiting_signoff", Counter({LEADER: 1, LEADER2: 1})),
         "reject": ("rejected", Counter({SECRETARY: 1})),
         "request_changes": ("changes_requested", Counter({SECRETARY: 1}))}
REVIEW_MAILS = Counter({REVIEWER: 1, REVIEWER2: 1, SECTION_HEAD: 1})  # sent on submit
CONFLICT_TEXT = "已被他人处理"


def _cli_each(jobs: list[tuple[int, str, str, int | None, str]]) -> list[dict]:
    """In a child: `qcflow case fire document ID TRIGGER --as EMAIL [--expected-version V] [--comment C]`
    for each job, one after the other; what each exited with and printed."""
    from qcflow.cli import main

    done = []
    for case_id, trigger, email, version, comment in jobs:
        argv = ["case", "fire", "document", str(case_id), trigger, "--as", email]
        if version is not None:
            argv += ["--expected-version", str(version)]
        if comment:
            argv += ["--comment", comment]
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except BaseException as exc:  # an escaped exception is a traceback the clerk would see
                code = f"traceback: {type(exc).__name__}: {exc}"
        done.append({"case_id": case_id, "trigger": trigger, "email": email, "versioned": version is not None,
                     "code": code, "out": out.getvalue(), "err": err.getvalue()})
    return done


def _submitted(count: int) -> dict[int, int]:
    """`count` submitted documents: id → version."""
    versions = {}
    for _ in range(count):
        with unit_of_work() as s:
            case_id = new_document(s)
        fire(case_id, "submit", SECRETARY)
        with unit_of_work() as s:
            versions[case_id] = s.get(Case, case_id).version
    return versions


def _events(case_ids) -> dict[int, list[CaseEvent]]:
    with unit_of_work(read_only=True) as s:
        rows = s.exec(select(CaseEvent).where(CaseEvent.case_id.in_(list(case_ids))).order_by(CaseEvent.id)).all()
    found: dict[int, list[CaseEvent]] = {}
    for e in rows:
        found.setdefault(e.case_id, []).append(e)
    return found


def _emails() -> dict[int, str]:
    from models import Person

    with unit_of_work(read_only=True) as s:
        return {p.id: p.email for p in s.exec(select(Person)).all()}


def _judge_losers(results: list[dict], winners: dict[int, str]) -> tuple[int, list[str]]:
    """How many attempts lost, and what was wrong with how any of them (or a winner) ended."""
    wrong, lost = [], 0
    for r in results:
        won = winners[r["case_id"]] == r["email"] and r["code"] == 0
        if won:
            continue
        lost += 1
        same_person = winners[r["case_id"]] == r["email"]
        if r["versioned"] or not same_person:
            if r["code"] != 3 or CONFLICT_TEXT not in r["err"]:
                wrong.append(f"#{r['case_id']} {r['email']} {r['trigger']}: expected exit 3, got {r['code']}: {r['err']}")
        elif r["code"] != 2 or not ("不能再" in r["err"] or "当前为" in r["err"]):  # the same person's own earlier step
            wrong.append(f"#{r['case_id']} {r['email']} {r['trigger']}: expected exit 2, got {r['code']}: {r['err']}")
    return lost, wrong


def test_conflicting_decisions_from_many_cli_processes_give_one_decision_per_step(demo):
    processes, cases = size(4, 8), size(5, 80)
    versions = _submitted(cases)
    ids = list(versions)
    plans = []
    for k in range(processes):
        email, trigger, comment = DECIDERS[k % len(DECIDERS)]
        plans.append(([(cid, trigger, email, versions[cid] if k % len(DECIDERS) >= UNVERSIONED else None, comment)
                       for cid in ids],))
    results = [r for batch in run_together(_cli_each, plans) for r in batch]
    assert len(results) == processes * cases

    tracebacks = [r for r in results if not isinstance(r["code"], int)]
    assert not tracebacks, tracebacks[:3]
    events, emails = _events(ids), _emails()
    winners, wrong_history = {}, []
    with unit_of_work(read_only=True) as s:
        for cid in ids:
            triggers = [e.trigger for e in events[cid]]
            decisions = [e for e in events[cid] if e.trigger in AFTER]
            if len(decisions) != 1 or triggers != ["create", "submit", decisions[0].trigger]:
                wrong_history.append((cid, triggers))
                continue
            decision = decisions[0]
            winners[cid] = emails[decision.actor_id]
            case = s.get(Case, cid)
            state, mails = AFTER[decision.trigger]
            sent = Counter(m.to_addr for m in s.exec(select(OutboxMessage).where(OutboxMessage.case_id == cid)).all())
            if (case.state, case.version, sent) != (state, versions[cid] + 1, REVIEW_MAILS + mails):
                wrong_history.append((cid, case.state, case.version, dict(sent)))
    assert not wrong_history, wrong_history[:5]
    oks = Counter(r["case_id"] for r in results if r["code"] == 0)
    assert all(oks[cid] == 1 for cid in ids), oks  # one command per step reported success
    lost, wrong = _judge_losers(results, winners)
    assert not wrong, "\n".join(wrong[:5])
    assert lost == len(results) - cases
    conflicts = sum(r["code"] == 3 for r in results)
    assert conflicts > 0
    record("cli_decision_race", concurrent_actions=len(results), processes=processes, steps=cases,
           conflicts=conflicts, lost=cases - len(winners), duplicated=sum(len([e for e in events[c] if e.trigger in AFTER]) - 1 for c in ids))


def test_two_leaders_racing_sign_offs_from_many_processes_give_gap_free_numbers(demo):
    processes, docs = size(3, 4), size(6, 200)
    versions = _submitted(docs)
    ids = list(versions)
    for cid in ids:
        fire(cid, "approve", REVIEWER)
    approved = {cid: versions[cid] + 1 for cid in ids}
    plans = []
    for k in range(processes):
        order = ids[:]
        random.Random(k).shuffle(order)  # different orders: the numbers are taken in an interleaved order
        signer = (LEADER, LEADER2)[k % 2]
        plans.append(([(cid, "sign", signer, approved[cid] if k >= 2 else None, "") for cid in order],))
    results = [r for batch in run_together(_cli_each, plans) for r in batch]
    assert not [r for r in results if not isinstance(r["code"], int)]

    events, emails = _events(ids), _emails()
    winners = {}
    for cid in ids:
        signs = [e for e in events[cid] if e.trigger == "sign"]
        issues = [e for e in events[cid] if e.trigger == "issue"]
        assert (len(signs), len(issues)) == (1, 1), (cid, [e.trigger for e in events[cid]])
        winners[cid] = emails[signs[0].actor_id]
    with unit_of_work(read_only=True) as s:
        numbers = s.exec(select(DocumentNumber)).all()
        counters = s.exec(select(DocumentCounter)).all()
        states = {c.id: c.state for c in s.exec(select(Case).where(Case.id.in_(ids))).all()}
    assert sorted(n.seq for n in numbers) == list(range(1, docs + 1))  # no gap, no duplicate
    assert sorted(n.case_id for n in numbers) == sorted(ids)  # one number per document
    assert [c.last_seq for c in counters] == [docs]
    assert set(states.values()) == {"issued"}
    winning_lines = [r for r in results if r["code"] == 0]
    assert len(winning_lines) == docs and all("文号" in r["out"] for r in winning_lines)
    lost, wrong = _judge_losers(results, winners)
    assert not wrong, "\n".join(wrong[:5])
    record("cli_issuance_race", concurrent_actions=len(results), processes=processes, issued=docs,
           number_gaps=docs - len({n.seq for n in numbers}), lost=sum(v != "issued" for v in states.values()),
           duplicated=len(numbers) - len({n.case_id for n in numbers}))
