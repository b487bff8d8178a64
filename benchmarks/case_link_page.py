"""link-page: the page an emailed link opens (GET /t/{token}) at 20 concurrent clients, against GET /health.

A fresh SQLite file with the demo directory and one submitted document; the reviewer's link is
taken from the 【待审核】 mail that qcflow's delivery sent to an SMTP sink on 127.0.0.1. The app
(`web.app:app`) is served by uvicorn on 127.0.0.1 in a child process; the load comes from this
process: 20 concurrent clients on keep-alive connections (a bare asyncio HTTP/1.1 client, lighter
than httpx, so the server keeps more of the CPUs), each round
bounded in requests and time. Rounds alternate (health, link) 3 times after a warm-up; the figure is
the median link-page rate, the baseline the median /health rate of the same app, and the p99 latency
is over every link-page request of the run. Targets (issue): link/health ≥ 0.3×, p99 ≤ 50 ms.
Note that the load generator shares the machine's CPUs with the server.
"""
from __future__ import annotations

import asyncio
import multiprocessing
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from benchmarks.support import (
    REVIEWERS, SECRETARY, Check, Options, Result, SmtpSink, create_document, deliver_all, fire, free_port,
    link_for, median, prepare_database, quantile, rate, sqlite_url,
)

NAME = "link-page"
CLIENTS = 20
ROUNDS = 3
TITLE = "链接页面基准测试公文"


def serve(url: str, data_dir: str, port: int) -> None:
    """The child: qcflow's runtime on the prepared database, then uvicorn on 127.0.0.1:port."""
    import uvicorn

    from benchmarks.support import configure

    configure(url, Path(data_dir), deliver_after_action=False, public_base_url=f"http://127.0.0.1:{port}")
    from web.app import app

    uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)).run()


async def _get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """One keep-alive HTTP/1.1 GET on an open connection; returns the status (the body is read and dropped)."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = None
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length is None:
        raise RuntimeError(f"no Content-Length in the answer: {head[:200]!r}")
    await reader.readexactly(length)
    return status


async def load(port: int, path: str, count: int, window: float) -> tuple[int, float, list[float], dict[int, int]]:
    """(requests done, seconds, latencies, status counts) of up to `count` GETs in `window` seconds, from
    CLIENTS keep-alive connections. A bare asyncio HTTP/1.1 client: it costs far less CPU than httpx, so
    the server keeps more of the machine's two CPUs."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    remaining = count
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: qcflow-bench\r\n\r\n".encode()
    connections = [await asyncio.open_connection("127.0.0.1", port) for _ in range(CLIENTS)]
    started = time.perf_counter()
    end = started + window

    async def one_client(reader, writer) -> None:
        nonlocal remaining
        while remaining > 0 and time.perf_counter() < end:
            remaining -= 1
            t0 = time.perf_counter()
            status = await _get(reader, writer, request)
            latencies.append(time.perf_counter() - t0)
            statuses[status] = statuses.get(status, 0) + 1

    try:
        await asyncio.gather(*(one_client(r, w) for r, w in connections))
    finally:
        spent = time.perf_counter() - started
        for _, writer in connections:
            writer.close()
    return len(latencies), spent, latencies, statuses


def wait_until_up(base: str, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"uvicorn did not answer on {base} within {timeout:.0f} s")


def run(opts: Options) -> Result:
    count, window = (200, 1.5) if opts.quick else (3000, 10.0)
    result = Result(NAME)
    with tempfile.TemporaryDirectory(prefix="qcflow-bench-page-") as tmp:
        url, data_dir = sqlite_url(Path(tmp)), Path(tmp) / "data"
        port = free_port()
        with SmtpSink() as sink:
            engine = prepare_database(url, data_dir, smtp_host="127.0.0.1", smtp_port=sink.port,
                                      public_base_url=f"http://127.0.0.1:{port}")
            case_id = create_document(engine, TITLE)
            fire(engine, case_id, "submit", SECRETARY)
            deliver_all()
            path = urlsplit(link_for(sink.messages(), REVIEWERS[0], TITLE)).path
            engine.dispose()
        server = multiprocessing.get_context("spawn").Process(target=serve, args=(url, str(data_dir), port),
                                                              daemon=True)
        server.start()
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until_up(base)
            for p in ("/health", path):  # warm-up
                asyncio.run(load(port, p, 100, 5))
            health, page, page_latencies, health_p99 = [], [], [], []
            for r in range(ROUNDS):
                done, spent, lat, statuses = asyncio.run(load(port, "/health", count, window))
                health.append(done / spent)
                health_p99.append(quantile(lat, 0.99))
                done_p, spent_p, lat_p, statuses_p = asyncio.run(load(port, path, count, window))
                if set(statuses_p) != {200}:
                    raise AssertionError(f"the link page answered {statuses_p}")
                page.append(done_p / spent_p)
                page_latencies += lat_p
                result.details.append(f"round {r + 1}: /health {done} in {spent:.2f} s = {rate(health[-1])}/s "
                                      f"(p99 {health_p99[-1] * 1000:.0f} ms); link page {done_p} in {spent_p:.2f} s "
                                      f"= {rate(page[-1])}/s (p50 {quantile(lat_p, 0.5) * 1000:.0f} ms, "
                                      f"p99 {quantile(lat_p, 0.99) * 1000:.0f} ms)")
        finally:
            server.terminate()
            server.join(10)
    p, h = median(page), median(health)
    over = median([x / y for x, y in zip(page, health)])
    p99 = quantile(page_latencies, 0.99)
    result.figure = f"{rate(p)} req/s"
    result.checks += [
        Check(f"GET /health {rate(h)} req/s, page/health {over:.2f}×", "≥ 0.3×", over >= 0.3),
        Check(f"p99 {p99 * 1000:.0f} ms (p50 {quantile(page_latencies, 0.5) * 1000:.0f} ms)", "≤ 50 ms", p99 <= 0.050),
    ]
    result.note = (f"{CLIENTS} keep-alive clients, uvicorn child process, asyncio load from the parent, "
                   f"medians of {ROUNDS} alternating rounds of ≤ {count:,} requests / {window:g} s")
    return result
