"""Database engine and units of work. SQLite by default; PostgreSQL through QCFLOW_DATABASE_URL."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import Engine, event
from sqlmodel import Session, create_engine

import models  # noqa: F401  (registers the tables)
from qcflow.core import runtime


def _ensure_sqlite_dir(url: str) -> None:
    if url.startswith("sqlite:///") and not url.endswith(":memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        _ensure_sqlite_dir(url)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        _sqlite_write_serially(engine)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_write_serially(engine: Engine) -> None:
    # pysqlite's own BEGIN is deferred: two writers that both read first deadlock on upgrade and
    # one gets "database is locked" instead of waiting. BEGIN IMMEDIATE takes the write lock up
    # front, so conflicting transitions queue and the loser sees the winner's committed version.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # A reader (a page view) takes no write lock, so views never queue behind steps.
        begin = "BEGIN" if conn.get_execution_options().get("read_only") else "BEGIN IMMEDIATE"
        conn.connection.driver_connection.execute(begin)  # straight to the driver: it is on every step


def get_engine() -> Engine:
    """The process's database engine (one pool per runtime, closed when the runtime is replaced)."""
    rt = runtime.current()
    engine = rt.resources.get("db_engine")
    if engine is None:
        engine = rt.resources["db_engine"] = make_engine(rt.settings.effective_database_url)
    return engine


@contextmanager
def unit_of_work(engine: Engine | None = None, read_only: bool = False) -> Iterator[Session]:
    """One transaction: commits when the block ends, rolls back everything if it raises.

    The transaction belongs to a connection; the Session joins it, so ORM work and the engine's plain
    statements (qcflow.store.raw) commit or roll back together, and a step that needs no ORM work
    never pays for the Session's own transaction bookkeeping. `read_only`: a reader's transaction,
    which on SQLite takes no write lock (it must not write)."""
    with (engine or get_engine()).connect() as connection:
        if read_only:
            connection = connection.execution_options(read_only=True)
        transaction = connection.begin()
        session = Session(bind=connection, expire_on_commit=False, join_transaction_mode="rollback_only")
        session.info["connection"] = connection
        try:
            yield session
            session.flush()
            transaction.commit()
        except BaseException:
            transaction.rollback()
            raise
        finally:
            session.close()


def upgrade_schema(url: str) -> None:
    """Create or upgrade the schema to the newest migration."""
    # Imported here, not at the top: alembic costs every CLI start ~0.1 s and only `init`/`serve` need it.
    from alembic import command
    from alembic.config import Config

    _ensure_sqlite_dir(url)
    here = Path(__file__).resolve().parents[2] / "migrations"
    cfg = Config()
    cfg.set_main_option("script_location", str(here))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(cfg, "head")
