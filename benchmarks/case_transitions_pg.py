"""transitions/postgresql: document steps through qcflow's engine on PostgreSQL with 8 clients.

A temporary schema (dropped afterwards) on the server given by --pg or $QCFLOW_BENCH_DATABASE_URL,
migrated, with the demo directory. 8 client processes, each with qcflow's runtime and its own
connection, take documents from draft to issued as in transitions/sqlite (submit, approve, sign + the
automatic issue: 4 transitions, each fire() its own transaction with all its effects; all clients
share the document-number counter, as in production). Drafts are created before each round, untimed.
Each client's figure is transitions per second of its time inside fire(); the figure is their sum.
Baseline, same run: the same 8 processes doing bare psycopg INSERT+COMMIT of one small row.
Rounds alternate (ours, bare) 3 times; medians. Target (issue): ≥ 1,500 steps/s.
"""
from __future__ import annotations

import math
import multiprocessing
import time
from pathlib import Path

from benchmarks.support import (
    Check, Options, Result, document_numbers_gap_free, median, pg_base_url,
    prepare_database, rate, temporary_pg_schema,
)

NAME = "transitions/postgresql"
CLIENTS = 8
ROUNDS = 3
DRAFTS_PER_TRANSACTION = 25


def client(index: int, url: str, data_dir: str, conn) -> None:
    """One client process: answers ("drafts", n), ("ours", start_at, seconds), ("bare", start_at, seconds)
    until ("stop",); an exception is sent back as {"error": ...} and ends the client."""
    import psycopg

    from benchmarks.support import SECRETARY, configure, fire, libpq_url, notice, steps_of
    from qcflow import engine as qc
    from qcflow.store.db import unit_of_work

    engine = configure(url, Path(data_dir))
    bare = psycopg.connect(libpq_url(url))
    drafts: list[int] = []
    made = 0

    def make_drafts(n: int) -> None:
        nonlocal made
        for start in range(0, n, DRAFTS_PER_TRANSACTION):
            with unit_of_work(engine) as s:
                for _ in range(min(DRAFTS_PER_TRANSACTION, n - start)):
                    drafts.append(qc.create_case(s, "document", SECRETARY,
                                                 notice(f"并发基准测试公文 {index}-{made}")).id)
                    made += 1

    def ours(start_at: float, window: float) -> dict:
        time.sleep(max(0.0, start_at - time.monotonic()))
        steps, spent, lifecycles, short = 0, 0.0, 0, 0
        end = time.perf_counter() + window
        while time.perf_counter() < end:
            if not drafts:
                short += 1
                make_drafts(1)  # ran out: its time is not counted
            case_id = drafts.pop()
            for trigger, email, transitions in steps_of(made + lifecycles):
                t0 = time.perf_counter()
                fire(engine, case_id, trigger, email)
                spent += time.perf_counter() - t0
                steps += transitions
            lifecycles += 1
        return {"steps": steps, "fire_s": spent, "lifecycles": lifecycles, "short": short}

    def bare_commits(start_at: float, window: float) -> dict:
        time.sleep(max(0.0, start_at - time.monotonic()))
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() < t0 + window:
            bare.execute("INSERT INTO bench_event (case_id, step, at) VALUES (%s, %s, %s)", (n, "submit", float(n)))
            bare.commit()
            n += 1
        return {"commits": n, "seconds": time.perf_counter() - t0}

    conn.send("ready")
    try:
        while (command := conn.recv())[0] != "stop":
            if command[0] == "drafts":
                make_drafts(command[1])
                conn.send(len(drafts))
            elif command[0] == "ours":
                conn.send(ours(*command[1:]))
            else:
                conn.send(bare_commits(*command[1:]))
    except Exception as exc:  # noqa: BLE001 — the parent reports it
        conn.send({"error": f"client {index}: {type(exc).__name__}: {exc}".splitlines()[0]})
    finally:
        bare.close()
        engine.dispose()


class WaitSampler:
    """What the clients' sessions wait on, sampled from pg_stat_activity every 50 ms while running."""

    def __init__(self, url: str, application_name: str) -> None:
        import threading
        from collections import Counter

        import psycopg

        from benchmarks.support import libpq_url

        self.samples: Counter = Counter()
        self.taken = 0
        self._db = psycopg.connect(libpq_url(url), autocommit=True)
        self._app = application_name
        self._running = threading.Event()
        self._closing = False
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            self._running.wait()
            if self._closing:
                return
            rows = self._db.execute(
                "SELECT state, coalesce(wait_event_type || ':' || wait_event, 'CPU'), left(query, 45) "
                "FROM pg_stat_activity WHERE application_name = %s AND pid <> pg_backend_pid()",
                (self._app,)).fetchall()
            self.taken += 1
            for state, wait, query in rows:
                if state == "active":
                    self.samples[f"{wait} in {' '.join(query.split())}…"] += 1
            time.sleep(0.05)

    def __enter__(self) -> "WaitSampler":
        self._running.set()
        return self

    def __exit__(self, *exc) -> None:
        self._running.clear()

    def close(self) -> None:
        self._closing = True
        self._running.set()
        self._thread.join(5)
        self._db.close()

    def top(self, n: int = 4) -> str:
        total = sum(self.samples.values()) or 1
        return "; ".join(f"{100 * k / total:.0f}% {what}" for what, k in self.samples.most_common(n))


def run(opts: Options) -> Result:
    base = pg_base_url(opts)
    if not base:
        return Result(NAME, figure="skipped", note="no PostgreSQL: pass --pg URL or set QCFLOW_BENCH_DATABASE_URL")
    ours_s, bare_s = (1.5, 0.5) if opts.quick else (8.0, 4.0)
    result = Result(NAME)
    import tempfile

    from sqlalchemy import text

    with tempfile.TemporaryDirectory(prefix="qcflow-bench-pg-") as tmp, temporary_pg_schema(base) as (url, schema):
        engine = prepare_database(url, Path(tmp) / "data")
        with engine.begin() as c:
            c.execute(text("CREATE TABLE bench_event (id bigserial PRIMARY KEY, case_id int, step text, "
                           "at double precision)"))
        url = f"{url}&application_name={schema}"  # so that the sampler can tell our sessions apart
        sampler = WaitSampler(url, schema)
        ctx = multiprocessing.get_context("spawn")
        pipes, procs = [], []
        for i in range(CLIENTS):
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(target=client, args=(i, url, str(Path(tmp) / "data"), theirs), daemon=True)
            proc.start()
            pipes.append(mine)
            procs.append(proc)
        try:
            for p in pipes:
                if not p.poll(120) or p.recv() != "ready":
                    raise RuntimeError("a client process did not start")

            def everyone(command) -> list:
                for p in pipes:
                    p.send(command)
                answers = [p.recv() for p in pipes]
                failed = [a["error"] for a in answers if isinstance(a, dict) and "error" in a]
                if failed:
                    raise RuntimeError(failed[0])
                return answers

            everyone(("drafts", 3))
            everyone(("ours", time.monotonic() + 0.2, 0.5))  # warm-up
            per_client = 60 if opts.quick else 300  # drafts per client per round, re-estimated below
            ours, bare, short, lifecycles = [], [], 0, 0
            for r in range(ROUNDS):
                everyone(("drafts", per_client))
                with sampler:
                    got = everyone(("ours", time.monotonic() + 0.3, ours_s))
                ours.append(sum(g["steps"] / g["fire_s"] for g in got if g["fire_s"]))
                short += sum(g["short"] for g in got)
                lifecycles += sum(g["lifecycles"] for g in got)
                most = max(g["lifecycles"] for g in got)
                per_client = max(0, math.ceil(most * 1.3))  # enough for the next round, whatever is left over
                done = everyone(("bare", time.monotonic() + 0.3, bare_s))
                bare.append(sum(d["commits"] for d in done) / max(d["seconds"] for d in done))
                wall = sum(g["steps"] for g in got) / ours_s
                result.details.append(f"round {r + 1}: ours {rate(ours[-1])} steps/s (by wall time {rate(wall)}), "
                                      f"{sum(g['lifecycles'] for g in got)} lifecycles; "
                                      f"bare {rate(bare[-1])} commits/s")
            for p in pipes:
                p.send(("stop",))
        finally:
            for proc in procs:
                proc.join(10)
                if proc.is_alive():
                    proc.terminate()
            sampler.close()
        gap_free, numbered = document_numbers_gap_free(engine)
        if not gap_free:
            raise AssertionError(f"document numbers are not gap-free ({numbered} issued)")
        server = engine.dialect.server_version_info
        engine.dispose()
    o = median(ours)
    over = median([b / x for b, x in zip(bare, ours)])
    result.figure = f"{rate(o)} steps/s"
    result.checks += [
        Check(f"bare psycopg insert+commit, {CLIENTS} clients {rate(median(bare))}/s, bare/ours {over:.1f}×",
              "≥ 1,500 steps/s", o >= 1500),
    ]
    result.note = (f"{CLIENTS} client processes, medians of {ROUNDS} alternating rounds, {lifecycles:,} lifecycles, "
                   f"PostgreSQL {'.'.join(map(str, server[:2]))}, temporary schema")
    result.details.append(f"clients' active sessions during ours, {sampler.taken} samples: {sampler.top()}")
    if short:
        result.details.append(f"{short} times a client ran out of drafts and made one (untimed)")
    result.details.append(f"{numbered} documents issued, numbers gap-free")
    return result
