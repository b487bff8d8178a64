"""What the benchmark cases share: results and their one-line form, a configured qcflow runtime on a
throwaway database, a temporary PostgreSQL schema, a statement counter, an SMTP sink in its own
process, and the demo document's lifecycle.

Nothing here writes outside temp dirs (and the temporary PostgreSQL schema, dropped afterwards);
all traffic goes to 127.0.0.1.
"""
from __future__ import annotations

import math
import os
import re
import resource
import socket
import statistics
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Optional
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEMO_DIRECTORY = ROOT / "demo" / "directory.yaml"
SECRETARY = "secretary@card.qingchuan.example"
REVIEWERS = ("reviewer@wjw.qingchuan.example", "reviewer2@wjw.qingchuan.example")
LEADERS = ("leader@wjw.qingchuan.example", "leader2@wjw.qingchuan.example")
TRANSITIONS_PER_LIFECYCLE = 4  # submit, approve, sign, issue (create is an insert, not a transition)
LINK = re.compile(r"https?://\S+?/t/[A-Za-z0-9_.\-]+")


# --- options and results ---------------------------------------------------------------------------

@dataclass
class Options:
    quick: bool = False
    pg_url: str = ""
    verbose: bool = False


@dataclass
class Check:
    """One comparison: what was measured against what (`text`), the issue's target, and the verdict."""
    text: str
    target: str
    ok: Optional[bool]  # None: not judged (e.g. the target is for the full size and this is --quick)

    @property
    def verdict(self) -> str:
        return {True: "PASS", False: "MISS", None: "n/a"}[self.ok]


@dataclass
class Result:
    name: str
    figure: str = ""
    checks: list[Check] = field(default_factory=list)
    note: str = ""  # how it was measured, in a few words
    details: list[str] = field(default_factory=list)  # printed with --verbose
    error: str = ""  # set by the runner when the case crashed

    def line(self) -> str:
        if self.error:
            return f"{self.name:<22} ERROR {self.error}"
        checks = "".join(f" | {c.text} [target {c.target}: {c.verdict}]" for c in self.checks)
        note = f"  ({self.note})" if self.note else ""
        return f"{self.name:<22} {self.figure:>18}{checks}{note}"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Result":
        return cls(**{**d, "checks": [Check(**c) for c in d.get("checks", [])]})


def judged(ok: bool, quick_ok: bool, quick: bool) -> Optional[bool]:
    """The verdict, unless this is --quick and the target only means something at the full size."""
    return ok if (quick_ok or not quick) else None


# --- numbers ---------------------------------------------------------------------------------------

def median(xs: list[float]) -> float:
    return statistics.median(xs)


def rate(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:,.1f}"


def seconds(x: float) -> str:
    return f"{x * 1000:,.0f} ms" if x < 1 else f"{x:,.2f} s"


def quantile(xs: list[float], q: float) -> float:
    """The q-quantile (0..1) of xs, nearest rank."""
    ordered = sorted(xs)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def current_rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the process's environment and qcflow's runtime -------------------------------------------------

def clean_environment() -> None:
    """Nothing from the caller's QCFLOW_* settings may leak into a measurement (QCFLOW_BENCH_* stays)."""
    for key in list(os.environ):
        if key.startswith("QCFLOW_") and not key.startswith("QCFLOW_BENCH_"):
            del os.environ[key]
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"


def configure(url: str, data_dir: Path, **settings: Any):
    """Install qcflow's runtime on `url` (system clock) and return its SQLAlchemy engine."""
    from qcflow import bootstrap
    from qcflow.core.clock import SystemClock
    from qcflow.core.settings import Settings
    from qcflow.store.db import get_engine

    bootstrap.configure(Settings(data_dir=Path(data_dir), database_url=url, secret_key="bench", **settings),
                        SystemClock())
    return get_engine()


def prepare_database(url: str, data_dir: Path, **settings: Any):
    """Configure, migrate, load the demo directory; return the engine."""
    import logging

    from qcflow.services import directory
    from qcflow.store.db import unit_of_work, upgrade_schema

    logging.getLogger("alembic").setLevel(logging.WARNING)
    engine = configure(url, data_dir, **settings)
    upgrade_schema(url)
    with unit_of_work(engine) as s:
        directory.load_file(s, DEMO_DIRECTORY)
    return engine


def sqlite_url(directory: Path, name: str = "bench.db") -> str:
    return f"sqlite:///{Path(directory) / name}"


def pg_base_url(opts: Options) -> str:
    return opts.pg_url or os.environ.get("QCFLOW_BENCH_DATABASE_URL", "")


@contextmanager
def temporary_pg_schema(base_url: str) -> Iterator[tuple[str, str]]:
    """(url, schema) of a fresh schema on the server at `base_url`, dropped afterwards."""
    from sqlalchemy import create_engine, text

    schema = f"qcflow_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base_url else "?"
    try:
        yield f"{base_url}{sep}options={quote(f'-csearch_path={schema}')}", schema
    finally:
        from qcflow import bootstrap

        bootstrap.close()  # the runtime's pool holds connections into the schema
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def libpq_url(sqlalchemy_url: str) -> str:
    """postgresql+psycopg://… → postgresql://… (for psycopg.connect)."""
    from sqlalchemy.engine import make_url

    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)


# --- the demo document ------------------------------------------------------------------------------

_NOTICE: Optional[dict] = None


def notice(title: str) -> dict:
    global _NOTICE
    if _NOTICE is None:
        import yaml

        _NOTICE = yaml.safe_load((ROOT / "demo" / "meeting_notice.yaml").read_text(encoding="utf-8"))
    return {**_NOTICE, "title": title}


def create_document(engine, title: str) -> int:
    from qcflow import engine as qc
    from qcflow.store.db import unit_of_work

    with unit_of_work(engine) as s:
        return qc.create_case(s, "document", SECRETARY, notice(title)).id


def fire(engine, case_id: int, trigger: str, email: str) -> None:
    """One step, its own transaction with all its effects (history, deadlines, links, outbox)."""
    from qcflow import engine as qc
    from qcflow.store.db import unit_of_work

    with unit_of_work(engine) as s:
        qc.fire(s, "document", case_id, trigger, email=email)


def steps_of(i: int) -> tuple[tuple[str, str, int], ...]:
    """(trigger, who, transitions it counts) of document i's lifecycle after its creation."""
    return (("submit", SECRETARY, 1), ("approve", REVIEWERS[i % 2], 1), ("sign", LEADERS[i % 2], 2))


def lifecycle(engine, i: int) -> list[float]:
    """Create document i (untimed) and take it to issued; return the seconds of each fire() transaction
    (submit, approve, sign + issue)."""
    case_id = create_document(engine, f"基准测试公文 {i}")
    spent = []
    for trigger, email, _ in steps_of(i):
        t0 = time.perf_counter()
        fire(engine, case_id, trigger, email)
        spent.append(time.perf_counter() - t0)
    return spent


def document_numbers_gap_free(engine) -> tuple[bool, int]:
    from sqlmodel import Session, select

    from models import DocumentNumber

    with Session(engine) as s:
        seqs = sorted(s.exec(select(DocumentNumber.seq)).all())
    return seqs == list(range(1, len(seqs) + 1)), len(seqs)


# --- SQL statements: what the database executes --------------------------------------------------

_VERB_TABLE = (
    (re.compile(r"^\s*SELECT\b.*?\bFROM\s+\"?(\w+)", re.S | re.I), "SELECT"),
    (re.compile(r"^\s*INSERT\s+(?:OR\s+\w+\s+)?INTO\s+\"?(\w+)", re.I), "INSERT"),
    (re.compile(r"^\s*UPDATE\s+\"?(\w+)", re.I), "UPDATE"),
    (re.compile(r"^\s*DELETE\s+FROM\s+\"?(\w+)", re.I), "DELETE"),
)
_TRANSACTION_CONTROL = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|END)\b", re.I)
_LITERAL = re.compile(r"'(?:[^']|'')*'|\bNULL\b|(?<![\w.])-?\d+(?:\.\d+)?(?:e[+-]?\d+)?\b", re.I)


def statement_kind(sql: str) -> str:
    for pattern, verb in _VERB_TABLE:
        m = pattern.match(sql)
        if m:
            return f"{verb} {m.group(1)}"
    return " ".join(sql.split()[:2]).upper()


def _shape(sql: str) -> str:
    return _LITERAL.sub("?", " ".join(sql.split()))


class StatementLog:
    """Counts the SQL statements a piece of work sends to the database.

    Two witnesses. SQLAlchemy's `before_cursor_execute` event sees what goes through SQLAlchemy,
    but not statements run on the DBAPI connection directly (qcflow.store.raw does that for the
    engine's hot path). On SQLite, the connection's trace callback sees every statement SQLite
    executes, whoever sent it; that is the count. An executemany is traced once per row: consecutive
    INSERTs/UPDATEs of the same shape (values aside) count as one statement, as SQLAlchemy counts an
    executemany once. BEGIN/COMMIT/ROLLBACK are not counted (PostgreSQL's BEGIN is implicit, and a
    COMMIT goes through the DBAPI's commit()). Other dialects: the SQLAlchemy count only."""

    def __init__(self, engine) -> None:
        from sqlalchemy import event

        self.orm: list[str] = []
        self.db: list[str] = []
        self._on = False
        self.traced = engine.dialect.name == "sqlite"
        event.listen(engine, "before_cursor_execute", self._seen)
        if self.traced:
            event.listen(engine, "connect", lambda dbapi_conn, _record: dbapi_conn.set_trace_callback(self._trace))
            engine.dispose()  # connections already pooled have no trace; new ones get it

    def _seen(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if self._on:
            self.orm.append(statement)

    def _trace(self, statement: str) -> None:
        if self._on:
            self.db.append(statement)

    @contextmanager
    def recording(self) -> Iterator["StatementLog"]:
        self.orm, self.db = [], []
        self._on = True
        try:
            yield self
        finally:
            self._on = False

    def snapshot(self) -> tuple[list[str], list[str]]:
        return list(self.orm), list(self.db)

    @staticmethod
    def counted(seen: tuple[list[str], list[str]]) -> list[str]:
        """The statements that count: the database's trace when there is one, else SQLAlchemy's."""
        orm, db = seen
        statements = [s for s in (db if db else orm) if not _TRANSACTION_CONTROL.match(s)]
        if not db:
            return statements
        merged: list[str] = []
        for s in statements:
            if merged and re.match(r"\s*(INSERT|UPDATE)\b", s, re.I) and _shape(s) == _shape(merged[-1]):
                continue  # the next row of an executemany
            merged.append(s)
        return merged

    @staticmethod
    def sqlalchemy_count(seen: tuple[list[str], list[str]]) -> int:
        return len([s for s in seen[0] if not _TRANSACTION_CONTROL.match(s)])

    @staticmethod
    def transaction_control(seen: tuple[list[str], list[str]]) -> list[str]:
        return sorted({" ".join(s.split()) for s in (seen[1] or seen[0]) if _TRANSACTION_CONTROL.match(s)})

    @staticmethod
    def grouped(statements: list[str]) -> list[str]:
        counts: dict[str, int] = {}
        for s in statements:
            kind = statement_kind(s)
            counts[kind] = counts.get(kind, 0) + 1
        return [f"{n}× {kind}" for kind, n in counts.items()]


# --- an SMTP server on 127.0.0.1, in its own process (so it does not share our GIL) -------------------

def _sink_main(port: int, conn, counter) -> None:
    from aiosmtpd.controller import Controller

    received: list[tuple[str, list[str], bytes]] = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
            with counter.get_lock():
                counter.value += 1
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    conn.send("ready")
    try:
        while True:
            command = conn.recv()
            if command == "messages":
                conn.send(list(received))
            elif command == "clear":
                received.clear()
                with counter.get_lock():
                    counter.value = 0
                conn.send("ok")
            else:
                break
    finally:
        controller.stop()


class SmtpSink:
    """`with SmtpSink() as sink:` — sink.port, sink.count, sink.messages(), sink.wait_for(n)."""

    def __enter__(self) -> "SmtpSink":
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        self.port = free_port()
        self._counter = ctx.Value("i", 0)
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_sink_main, args=(self.port, child, self._counter), daemon=True)
        self._process.start()
        if not self._conn.poll(30) or self._conn.recv() != "ready":
            raise RuntimeError("the SMTP sink did not start")
        return self

    def __exit__(self, *exc) -> None:
        try:
            self._conn.send("stop")
        except OSError:
            pass
        self._process.join(5)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(5)

    @property
    def count(self) -> int:
        return self._counter.value

    def wait_for(self, n: int, timeout: float = 30.0) -> int:
        deadline = time.monotonic() + timeout
        while self.count < n and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.count

    def raw(self) -> list[tuple[str, list[str], bytes]]:
        self._conn.send("messages")
        return self._conn.recv()

    def messages(self):
        from email import message_from_bytes, policy

        return [message_from_bytes(content, policy=policy.default) for _, _, content in self.raw()]

    def clear(self) -> None:
        self._conn.send("clear")
        self._conn.recv()


def deliver_all(max_rounds: int = 10_000) -> int:
    """Run qcflow's delivery until a run sends nothing; return how many were sent."""
    from qcflow.services.mail import deliver_outbox

    sent = 0
    for _ in range(max_rounds):
        report = deliver_outbox()
        if report.errors and not report.sent:
            raise RuntimeError(f"delivery failed: {report.errors[0]}")
        if not report.sent:
            return sent
        sent += report.sent
    return sent


def link_for(messages, to: str, subject_contains: str) -> str:
    """The task link in the newest message to `to` whose subject contains `subject_contains`."""
    found = [m for m in messages if to in str(m["To"]) and subject_contains in str(m["Subject"])]
    if not found:
        raise RuntimeError(f"no mail to {to} with “{subject_contains}” in its subject "
                           f"({len(messages)} received)")
    text = found[-1].get_body(preferencelist=("plain",)).get_content()
    match = LINK.search(text)
    if not match:
        raise RuntimeError(f"no task link in the mail to {to}: {text[:200]!r}")
    return match.group(0)


def sweep_function() -> Callable:
    """The deadline sweep, wherever it lives today."""
    try:
        from qcflow.services.sweep import sweep  # type: ignore[import-not-found]
    except ImportError:
        from qcflow.engine.deadlines import sweep
    return sweep
