"""Open the half-year or year-end reports for every active center (Y§17). Safe to run again."""
from __future__ import annotations

from typing import Optional

from qcflow import bootstrap  # first: it switches Prefect's telemetry off before prefect is imported

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.deliver_outbox import send_pending_mail
from qcflow.core.clock import as_of_moment
from qcflow.services.reports import open_reports
from qcflow.store.db import unit_of_work


@task(cache_policy=NO_CACHE, task_run_name="open-{kind}-reports")
def open_period_reports(kind: str, period: Optional[str], as_of: Optional[str]) -> dict:
    bootstrap.ensure()
    with unit_of_work() as session:
        return open_reports(session, kind, period, now=as_of_moment(as_of))


@flow(name="open-reports", log_prints=True)
def open_reports_flow(kind: str = "half_year", period: Optional[str] = None, as_of: Optional[str] = None) -> dict:
    """kind: half_year | year_end; period: e.g. 2026H1 or 2026Y (default: this year's); as_of: YYYY-MM-DD."""
    result = open_period_reports(kind, period, as_of)
    mail = send_pending_mail()
    print(f"{result['summary']}；{mail['summary']}")
    return {**result, "mail": mail}
