"""Remind centers of a member meeting or training not yet held in the period (Y§19). Rules: states.meetings."""
from __future__ import annotations

from datetime import date
from typing import Optional

from qcflow import bootstrap  # first: it switches Prefect's telemetry off before prefect is imported

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.deliver_outbox import send_pending_mail
from qcflow.services import meetings
from qcflow.store.db import unit_of_work


@task(cache_policy=NO_CACHE, task_run_name="remind-missing-meetings")
def remind_missing_meetings(as_of: Optional[str]) -> list[str]:
    bootstrap.ensure()
    with unit_of_work() as session:
        return meetings.remind_missing(session, date.fromisoformat(as_of) if as_of else None)


@flow(name="check-meetings", log_prints=True)
def check_meetings(as_of: Optional[str] = None) -> dict:
    """as_of: YYYY-MM-DD to check as if it were that day (default: today in Asia/Shanghai)."""
    keys = remind_missing_meetings(as_of)
    sent = send_pending_mail()
    summary = f"会议和培训提醒 {len(keys)} 项；{sent['summary']}"
    print(summary)
    return {"reminded": keys, "mail": sent, "summary": summary}
