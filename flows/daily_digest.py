"""Send each person who chose 每日待办汇总 one digest of what waits for them today. Rules: qcflow.services.tasks."""
from __future__ import annotations

from qcflow import bootstrap  # first: it switches Prefect's telemetry off before prefect is imported

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.deliver_outbox import send_pending_mail
from qcflow.services.tasks import send_daily_digests
from qcflow.store.db import unit_of_work


@task(cache_policy=NO_CACHE, task_run_name="queue-daily-digests")
def queue_daily_digests() -> int:
    bootstrap.ensure()
    with unit_of_work() as session:
        return send_daily_digests(session)


@flow(name="daily-digest", log_prints=True)
def daily_digest() -> dict:
    """Once per person per local day; a second run the same day sends nothing."""
    queued = queue_daily_digests()
    sent = send_pending_mail()
    summary = f"每日待办汇总 {queued} 封；{sent['summary']}"
    print(summary)
    return {"digests": queued, "mail": sent, "summary": summary}
