"""Open the half-year or year-end reports for every active center (Y§17). Safe to run again."""
from __future__ import annotations

from typing import Optional

from qcflow import bootstrap  # first: it switches Prefect's telemetry off before prefect is imported

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows import as_of as days
from flows.deliver_outbox import send_pending_mail
from qcflow.core.clock import as_of_moment
from qcflow.services.reports import open_reports


@task(cache_policy=NO_CACHE, task_run_name="open-{kind}-reports")
def open_period_reports(kind: str, period: Optional[str], as_of: Optional[str], preview: bool = False) -> dict:
    bootstrap.ensure()
    day = days.checked_day(as_of)
    moment = as_of_moment(day.isoformat()) if day else None
    return days.run(lambda session: open_reports(session, kind, period, now=moment), preview)


@flow(name="open-reports", log_prints=True)
def open_reports_flow(kind: str = "half_year", period: Optional[str] = None, as_of: Optional[str] = None,
                      force: bool = False) -> dict:
    """kind: half_year | year_end; period: e.g. 2026H1 or 2026Y (default: this year's); as_of: YYYY-MM-DD
    (a later day only previews what would be opened unless force=true)."""
    bootstrap.ensure()
    preview = days.is_preview(as_of, force)  # refuses a date that is not one, in Chinese
    result = open_period_reports(kind, period, as_of, preview)
    if preview:
        summary = f"{days.PREVIEW_NOTE.format(day=as_of)}：{result['summary']}"
        print(summary)
        return {**result, "preview": True, "summary": summary, "mail": {"sent": 0, "summary": "预览，未发送邮件"}}
    mail = send_pending_mail()
    print(f"{result['summary']}；{mail['summary']}")
    return {**result, "preview": False, "mail": mail}
