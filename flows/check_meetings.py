"""Remind centers of a member meeting or training not yet held in the period (Y§19). Rules: states.meetings."""
from __future__ import annotations

from typing import Optional

from qcflow import bootstrap  # first: it switches Prefect's telemetry off before prefect is imported

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows import as_of as days
from flows.deliver_outbox import send_pending_mail
from qcflow.services import meetings


@task(cache_policy=NO_CACHE, task_run_name="remind-missing-meetings")
def remind_missing_meetings(as_of: Optional[str], preview: bool = False) -> list[str]:
    bootstrap.ensure()
    day = days.checked_day(as_of)
    return days.run(lambda session: meetings.remind_missing(session, day), preview)


@flow(name="check-meetings", log_prints=True)
def check_meetings(as_of: Optional[str] = None, force: bool = False) -> dict:
    """as_of: YYYY-MM-DD to check as if it were that day (default: today in Asia/Shanghai); a later day
    only previews what would be reminded unless force=true."""
    bootstrap.ensure()
    preview = days.is_preview(as_of, force)  # refuses a date that is not one, in Chinese
    keys = remind_missing_meetings(as_of, preview)
    if preview:
        summary = f"{days.PREVIEW_NOTE.format(day=as_of)}：将提醒会议和培训 {len(keys)} 项"
        print(summary)
        return {"reminded": keys, "preview": True, "mail": {"sent": 0, "summary": "预览，未发送邮件"}, "summary": summary}
    sent = send_pending_mail()
    summary = f"会议和培训提醒 {len(keys)} 项；{sent['summary']}"
    print(summary)
    return {"reminded": keys, "preview": False, "mail": sent, "summary": summary}
