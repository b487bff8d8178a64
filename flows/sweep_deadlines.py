"""Remind and escalate what is due, derived from the database (so missed runs are caught up).

Also opens a period's reports whose scheduled opening run was missed. `as_of` in the future is a
preview that changes nothing unless `force` is true; today or a past day sweeps now."""
from __future__ import annotations

from typing import Optional

from qcflow import bootstrap  # first: it switches Prefect's telemetry off before prefect is imported

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.deliver_outbox import send_pending_mail
from qcflow.services import sweep as deadlines
from qcflow.services.reports import open_due_reports
from qcflow.store.db import unit_of_work


@task(cache_policy=NO_CACHE, task_run_name="open-missed-reports")
def open_missed_reports() -> dict:
    bootstrap.ensure()
    with unit_of_work() as session:
        return open_due_reports(session)


@task(cache_policy=NO_CACHE, task_run_name="sweep-open-deadlines")
def sweep_open_deadlines(as_of: Optional[str], force: bool) -> dict:
    bootstrap.ensure()
    outcome = deadlines.run_as_of(unit_of_work, as_of, force=force)
    report = outcome.report
    return {"reminded": len(report.reminded), "escalated": len(report.escalated), "overdue": len(report.overdue),
            "examined": report.examined, "conflicts": report.conflicts, "preview": outcome.preview,
            "would_send": outcome.would_send, "summary": outcome.summary()}


@flow(name="sweep-deadlines", log_prints=True)
def sweep_deadlines(as_of: Optional[str] = None, force: bool = False) -> dict:
    """as_of: YYYY-MM-DD; a future day only previews what would be sent (force=true: act as of that day)."""
    bootstrap.ensure()
    if not deadlines.acts(as_of, force):  # a preview: nothing opened, nothing sent
        swept = sweep_open_deadlines(as_of, force)
        print(swept["summary"])
        return {**swept, "mail": {"sent": 0, "summary": "预览，未发送邮件"}}
    opened = open_missed_reports()
    swept = sweep_open_deadlines(as_of, force)
    sent = send_pending_mail()
    summary = f"{swept['summary']}；{sent['summary']}"
    if opened["opened"]:
        summary = f"{opened['summary']}；{summary}"
    print(summary)
    return {**swept, "reports_opened": opened["opened"], "mail": sent, "summary": summary}
