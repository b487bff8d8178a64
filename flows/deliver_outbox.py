"""Send what waits in the outbox. Holds no rules: delivery lives in notifications.delivery."""
from __future__ import annotations

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from qcflow import bootstrap
from qcflow.services.mail import deliver_outbox as deliver


@task(cache_policy=NO_CACHE, task_run_name="send-pending-mail")
def send_pending_mail() -> dict:
    bootstrap.ensure()
    report = deliver()  # no task retries: the outbox backs off itself (per message, and the whole queue)
    return {"sent": report.sent, "retried": report.retried, "gave_up": report.gave_up, "released": report.released,
            "held_until": report.held_until.isoformat() if report.held_until else None, "outage": report.outage,
            "quota_until": report.quota_until.isoformat() if report.quota_until else None,
            "errors": report.errors, "summary": report.summary()}


@flow(name="deliver-outbox", log_prints=True)
def deliver_outbox() -> dict:
    result = send_pending_mail()
    print(result["summary"])
    return result
