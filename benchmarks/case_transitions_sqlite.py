"""transitions/sqlite: persisted document steps through qcflow's engine on a SQLite file.

Each lifecycle: create (untimed), submit, approve, sign (+ the automatic issue with its number);
each fire() is its own transaction with all its effects (history, deadlines, task links, outbox),
counted as 4 transitions per lifecycle; the figure is transitions per second of time inside the fire()
transactions. In the same run, interleaved in 3 rounds (ours, Spiff, bare) and the median of each
taken: SpiffWorkflow 3.2 doing the same approval with its state reloaded every step ("tuned_reload",
benchmarks/peer_spiff.py, its own venv) and bare sqlite3 INSERT+COMMIT of one small row (same pragmas:
WAL, synchronous=NORMAL). Targets (issue): bare/ours ≤ 12×, ours/Spiff ≥ 3×.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmarks import peer_spiff
from benchmarks.support import (
    TRANSITIONS_PER_LIFECYCLE, Check, Options, Result, document_numbers_gap_free, lifecycle, median,
    prepare_database, quantile, rate, sqlite_url,
)

NAME = "transitions/sqlite"
ROUNDS = 3
WARMUP = 5


def measure_ours(engine, first: int, window: float, steps: list[list[float]]) -> tuple[float, int]:
    """(transitions/s inside fire(), lifecycles) over about `window` seconds of wall time; appends each
    lifecycle's step times to `steps`."""
    spent, n, started = 0.0, 0, time.perf_counter()
    while time.perf_counter() - started < window:
        times = lifecycle(engine, first + n)
        steps.append(times)
        spent += sum(times)
        n += 1
    return n * TRANSITIONS_PER_LIFECYCLE / spent, n


def step_profile(steps: list[list[float]]) -> list[str]:
    ms = lambda xs: f"{1000 * sum(xs) / len(xs):.1f}"  # noqa: E731
    lines = ["per step, mean / p95 ms: " + ", ".join(
        f"{name} {ms([r[k] for r in steps])} / {1000 * quantile([r[k] for r in steps], 0.95):.1f}"
        for k, name in enumerate(("submit", "approve", "sign+issue")))]
    tenth = max(1, len(steps) // 10)
    lines.append(f"drift as tables grow: first {tenth} lifecycles {ms([sum(r) for r in steps[:tenth]])} ms, "
                 f"last {tenth} {ms([sum(r) for r in steps[-tenth:]])} ms per lifecycle (3 transactions)")
    return lines


def run(opts: Options) -> Result:
    ours_s, spiff_s, bare_s = (1.0, 1.0, 0.3) if opts.quick else (8.0, 8.0, 3.0)
    result = Result(NAME)
    with tempfile.TemporaryDirectory(prefix="qcflow-bench-transitions-") as tmp:
        engine = prepare_database(sqlite_url(Path(tmp)), Path(tmp) / "data")
        for i in range(WARMUP):
            lifecycle(engine, i)
        done = WARMUP
        ours, spiff, bare, steps = [], [], [], []
        for r in range(ROUNDS):
            figure, n = measure_ours(engine, done, ours_s, steps)
            done += n
            ours.append(figure)
            peer = peer_spiff.measure_peer(spiff_s, max_lifecycles=1_000_000, variants=("tuned_reload",))
            if peer is not None:
                spiff.append(peer["tuned_reload_steps_per_s"])
            bare.append(peer_spiff.bare_sqlite_commits_per_s(bare_s))
            result.details.append(f"round {r + 1}: ours {rate(figure)} steps/s ({n} lifecycles), "
                                  f"Spiff tuned_reload {rate(spiff[-1]) if peer else 'n/a'} steps/s, "
                                  f"bare {rate(bare[-1])} commits/s")
        gap_free, numbered = document_numbers_gap_free(engine)
        if not gap_free:
            raise AssertionError(f"document numbers are not gap-free ({numbered} issued)")
        engine.dispose()

    o = median(ours)
    over_bare = median([b / x for b, x in zip(bare, ours)])  # ratios per round: each pair saw the same machine
    result.figure = f"{rate(o)} steps/s"
    result.checks.append(Check(f"bare sqlite3 insert+commit {rate(median(bare))}/s, bare/ours {over_bare:.1f}×",
                               "≤ 12×", over_bare <= 12))
    if len(spiff) == len(ours):
        over_spiff = median([x / s for x, s in zip(ours, spiff)])
        result.checks.append(Check(f"Spiff tuned {rate(median(spiff))} steps/s, ours/Spiff {over_spiff:.2f}×", "≥ 3×",
                                   over_spiff >= 3))
    else:
        result.checks.append(Check("Spiff tuned unavailable (its venv could not be set up or run)", "≥ 3×", None))
    result.note = (f"medians of {ROUNDS} interleaved rounds, {done - WARMUP} lifecycles, "
                   f"4 transitions each")
    result.details += step_profile(steps)
    result.details.append(f"{numbered} documents issued, numbers gap-free")
    return result
