"""The engine's hot path in plain SQL on the transaction's own DBAPI connection.

A step issues about ten small statements; through the ORM each cost a few hundred microseconds of
expression building, cache keys and flush bookkeeping, more than SQLite takes to run them. Here
they are prepared strings run on the same connection and transaction as the caller's Session, so
a step and whatever the services did before it commit or roll back together.

Values are stored exactly as the ORM stores them (SQLite: UTC text `YYYY-MM-DD HH:MM:SS.ffffff`
and JSON text; PostgreSQL: timestamptz and json), so either side reads the other's rows.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Iterable, Optional, Sequence

from sqlmodel import Session

@lru_cache(maxsize=512)
def _pg_sql(sql: str) -> str:
    return sql.replace("?", "%s")


class Raw:
    """Plain statements on the connection of a Session's transaction."""

    def __init__(self, session: Session):
        if session.new or session.deleted or session.dirty:
            session.flush()  # what the caller added through the ORM comes first
        self.session = session
        connection = session.info.get("connection") or session.connection()
        self.postgres = connection.dialect.name == "postgresql"
        self.dbapi = connection.connection.driver_connection
        if self.postgres:
            from psycopg.types.json import Json  # here, not at the top: only PostgreSQL needs psycopg (start-up time)

            self._json = Json

    # --- values -------------------------------------------------------------------------------
    def ts(self, moment: Optional[datetime]) -> Any:
        if moment is None:
            return None
        moment = moment.astimezone(timezone.utc)
        # SQLAlchemy's SQLite format, always with microseconds (isoformat is faster than strftime)
        return moment if self.postgres else moment.replace(tzinfo=None).isoformat(" ", "microseconds")

    def js(self, value: Any) -> Any:
        return self._json(value) if self.postgres else json.dumps(value)

    @staticmethod
    def read_ts(value: Any) -> Optional[datetime]:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)

    @staticmethod
    def read_js(value: Any) -> Any:
        return json.loads(value) if isinstance(value, (str, bytes)) else value

    # --- statements ---------------------------------------------------------------------------
    def _sql(self, sql: str) -> str:
        return _pg_sql(sql) if self.postgres else sql

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        cur = self.dbapi.cursor()
        try:
            cur.execute(self._sql(sql), tuple(params))
            return cur.fetchall()
        finally:
            cur.close()

    def first(self, sql: str, params: Sequence[Any] = ()) -> Optional[tuple]:
        found = self.rows(sql, params)
        return found[0] if found else None

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Execute; returns the number of rows changed."""
        cur = self.dbapi.cursor()
        try:
            cur.execute(self._sql(sql), tuple(params))
            return cur.rowcount
        finally:
            cur.close()

    def many(self, sql: str, seq: Iterable[Sequence[Any]]) -> None:
        seq = [tuple(p) for p in seq]
        if not seq:
            return
        cur = self.dbapi.cursor()
        try:
            cur.executemany(self._sql(sql), seq)
        finally:
            cur.close()

    def insert(self, table: str, rows: list[dict[str, Any]], times: tuple[str, ...] = (),
               jsons: tuple[str, ...] = ()) -> None:
        """Insert dict rows (all with the same keys) in one executemany."""
        if not rows:
            return
        columns = list(rows[0])
        sql = f"INSERT INTO {table} ({', '.join(_quote(c) for c in columns)}) VALUES ({', '.join('?' for _ in columns)})"
        self.many(sql, ([self.ts(r[c]) if c in times else self.js(r[c]) if c in jsons else r[c] for c in columns]
                        for r in rows))

    def in_list(self, values: Sequence[Any]) -> str:
        return ", ".join("?" for _ in values)


def _quote(column: str) -> str:
    return f'"{column}"' if column in ("trigger", "key", "round", "group") else column
