"""What every benchmark script needs: a throwaway data dir set up before qcflow reads its settings,
settings pointed at a database, a temporary PostgreSQL schema, and the process's peak memory."""
from __future__ import annotations

import os
import resource
import sys
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent


def use_temp_data_dir(prefix: str) -> tempfile.TemporaryDirectory:
    """Call before importing qcflow: settings are read once from the environment."""
    sys.path.insert(0, str(ROOT))
    tmp = tempfile.TemporaryDirectory(prefix=prefix)
    os.environ["QCFLOW_DATA_DIR"] = str(Path(tmp.name) / "data")
    os.environ.setdefault("QCFLOW_SECRET_KEY", "bench-secret")
    os.environ.pop("QCFLOW_SMTP_HOST", None)
    os.environ.pop("QCFLOW_DATABASE_URL", None)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    return tmp


def point_settings_at(url: str) -> None:
    from qcflow.store.db import engine_for
    from qcflow.core.runtime import get_settings

    os.environ["QCFLOW_DATABASE_URL"] = url
    get_settings.cache_clear()
    engine_for.cache_clear()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


@contextmanager
def temporary_pg_schema(base_url: str) -> Iterator[tuple[str, str]]:
    """(url, schema) of a fresh schema on the server at `base_url`, dropped afterwards."""
    from sqlalchemy import text

    from qcflow.store.db import engine_for, make_engine

    schema = f"qcflow_bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(base_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base_url else "?"
    try:
        yield f"{base_url}{sep}options={quote(f'-csearch_path={schema}')}", schema
    finally:
        engine_for.cache_clear()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
