"""Remind and escalate what is due, derived from the database (so missed runs are caught up)."""
from __future__ import annotations

from typing import Optional

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.deliver_outbox import send_pending_mail
from qcflow import bootstrap
from qcflow.core.clock import as_of_moment
from qcflow.services import sweep as deadlines
from qcflow.store.db import unit_of_work


@task(cache_policy=NO_CACHE, task_run_name="sweep-open-deadlines")
def sweep_open_deadlines(as_of: Optional[str]) -> dict:
    bootstrap.ensure()
    with unit_of_work() as session:
        report = deadlines.sweep(session, now=as_of_moment(as_of))
    return {"reminded": len(report.reminded), "escalated": len(report.escalated),
            "overdue": len(report.overdue), "examined": report.examined}


@flow(name="sweep-deadlines", log_prints=True)
def sweep_deadlines(as_of: Optional[str] = None) -> dict:
    """as_of: YYYY-MM-DD to sweep as if it were that day (default: now)."""
    swept = sweep_open_deadlines(as_of)
    sent = send_pending_mail()
    summary = (f"检查 {swept['examined']} 项期限：提醒 {swept['reminded']} 项，督办 {swept['escalated']} 项，"
               f"标记逾期 {swept['overdue']} 项；{sent['summary']}")
    print(summary)
    return {**swept, "mail": sent, "summary": summary}
