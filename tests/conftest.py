"""Shared fixtures: a real database (SQLite file, or PostgreSQL when QCFLOW_TEST_DATABASE_URL is set),
settings pointed at a temporary data directory, and the demo directory loaded."""
from __future__ import annotations


import os
import shutil
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel

ROOT = Path(__file__).resolve().parent.parent
DEMO_DIRECTORY = ROOT / "demo" / "directory.yaml"
PG_URL = os.environ.get("QCFLOW_TEST_DATABASE_URL", "")

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--wall-clock-ahead-days", type=int, default=0, metavar="N",
        help="run the session with the wall clock N days ahead (time-machine, ticking); the tests stand on "
             "TEST_NOW whatever the wall clock says, so anything that fails here reads the wall clock. "
             "Only this process sees it: Prefect's harness server and child processes keep the real clock.")


_WALL_CLOCK = pytest.StashKey[object]()


def pytest_configure(config: pytest.Config) -> None:
    days = config.getoption("--wall-clock-ahead-days", default=0)
    if days:
        import time_machine

        traveller = time_machine.travel(datetime.now(timezone.utc) + timedelta(days=days), tick=True)
        traveller.start()
        config.stash[_WALL_CLOCK] = traveller


def pytest_unconfigure(config: pytest.Config) -> None:
    traveller = config.stash.get(_WALL_CLOCK, None)
    if traveller is not None:
        traveller.stop()


# Every test stands on this moment (a Tuesday, local time), whatever the date it runs: nothing may
# depend on the wall clock. CI runs the suite again with the wall clock a year ahead to prove it.
TEST_NOW = datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def _configure() -> None:
    from qcflow import bootstrap
    from qcflow.core.clock import FixedClock
    from qcflow.core.settings import Settings

    bootstrap.configure(Settings(), FixedClock(TEST_NOW))


@pytest.fixture
def clock(db_url):
    """The test's clock: move it with .set(moment) or .advance(days=...)."""
    from qcflow.core import runtime

    return runtime.current().clock


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory) -> Path:
    """Migrate once; each test gets a copy of the migrated file."""
    from qcflow.store.db import upgrade_schema

    path = tmp_path_factory.mktemp("template") / "qcflow.db"
    upgrade_schema(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def _pg_migrated() -> str:
    from qcflow.store.db import make_engine, upgrade_schema

    engine = make_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    upgrade_schema(PG_URL)
    return PG_URL


@pytest.fixture
def db_url(request, tmp_path, monkeypatch) -> str:
    """A migrated, empty database; settings point at it and at a temporary data directory."""
    if PG_URL:
        url = request.getfixturevalue("_pg_migrated")
        from qcflow.store.db import make_engine

        engine = make_engine(url)
        tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()
    else:
        template = request.getfixturevalue("_sqlite_template")
        target = tmp_path / "data" / "qcflow.db"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(template, target)
        url = f"sqlite:///{target}"
    monkeypatch.setenv("QCFLOW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("QCFLOW_DATABASE_URL", url)
    monkeypatch.setenv("QCFLOW_SECRET_KEY", "test-secret")
    monkeypatch.setenv("QCFLOW_ENV", "development")  # the short test key is allowed here (and in child processes)
    monkeypatch.setenv("QCFLOW_FIXED_NOW", TEST_NOW.isoformat())  # for the CLI run as a child process
    monkeypatch.delenv("QCFLOW_SMTP_HOST", raising=False)
    _configure()
    yield url
    from qcflow import bootstrap

    bootstrap.close()


@pytest.fixture
def engine(db_url):
    from qcflow.store.db import get_engine

    return get_engine()


@pytest.fixture
def demo(engine):
    """The fictional demo directory, loaded."""
    from qcflow.services import directory
    from qcflow.store.db import unit_of_work

    with unit_of_work() as session:
        directory.load_file(session, DEMO_DIRECTORY)
    return engine


@pytest.fixture(scope="session")
def harness(tmp_path_factory):
    """One Prefect test harness for the few tests that run flows for real (~10 s to start)."""
    home = tmp_path_factory.mktemp("prefect-home")
    old = os.environ.get("PREFECT_HOME")
    os.environ["PREFECT_HOME"] = str(home)  # keep result records out of the user's Prefect home
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=60):
        yield
    if old is None:
        os.environ.pop("PREFECT_HOME", None)
    else:
        os.environ["PREFECT_HOME"] = old
