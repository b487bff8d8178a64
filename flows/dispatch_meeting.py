"""Invite every active center to next month's dispatch meeting (H4), with a calendar file. Rules: states.meetings."""
from __future__ import annotations

from typing import Optional

from qcflow import bootstrap  # first: it switches Prefect's telemetry off before prefect is imported

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows import as_of as days
from flows.deliver_outbox import send_pending_mail
from qcflow.services import meetings


@task(cache_policy=NO_CACHE, task_run_name="queue-dispatch-invitations")
def queue_dispatch_invitations(as_of: Optional[str], preview: bool = False) -> list[str]:
    bootstrap.ensure()
    day = days.checked_day(as_of)
    return days.run(lambda session: meetings.send_dispatch_invitations(session, day), preview)


@flow(name="dispatch-meeting-invite", log_prints=True)
def dispatch_meeting_invite(as_of: Optional[str] = None, force: bool = False) -> dict:
    """as_of: YYYY-MM-DD to invite as if it were that day (the meeting is in the following month); a later
    day only previews who would be invited unless force=true."""
    bootstrap.ensure()
    preview = days.is_preview(as_of, force)  # refuses a date that is not one, in Chinese
    keys = queue_dispatch_invitations(as_of, preview)
    if preview:
        summary = f"{days.PREVIEW_NOTE.format(day=as_of)}：将发送调度会议邀请 {len(keys)} 项"
        print(summary)
        return {"invited": keys, "preview": True, "mail": {"sent": 0, "summary": "预览，未发送邮件"}, "summary": summary}
    sent = send_pending_mail()
    summary = f"调度会议邀请 {len(keys)} 项；{sent['summary']}"
    print(summary)
    return {"invited": keys, "preview": False, "mail": sent, "summary": summary}
