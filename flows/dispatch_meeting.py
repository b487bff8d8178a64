"""Invite every active center to next month's dispatch meeting (H4), with a calendar file. Rules: states.meetings."""
from __future__ import annotations

from datetime import date
from typing import Optional

from qcflow import bootstrap  # first: it switches Prefect's telemetry off before prefect is imported

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.deliver_outbox import send_pending_mail
from qcflow.services import meetings
from qcflow.store.db import unit_of_work


@task(cache_policy=NO_CACHE, task_run_name="queue-dispatch-invitations")
def queue_dispatch_invitations(as_of: Optional[str]) -> list[str]:
    bootstrap.ensure()
    with unit_of_work() as session:
        return meetings.send_dispatch_invitations(session, date.fromisoformat(as_of) if as_of else None)


@flow(name="dispatch-meeting-invite", log_prints=True)
def dispatch_meeting_invite(as_of: Optional[str] = None) -> dict:
    """as_of: YYYY-MM-DD to invite as if it were that day (the meeting is in the following month)."""
    keys = queue_dispatch_invitations(as_of)
    sent = send_pending_mail()
    summary = f"调度会议邀请 {len(keys)} 项；{sent['summary']}"
    print(summary)
    return {"invited": keys, "mail": sent, "summary": summary}
