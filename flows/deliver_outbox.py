"""Send what waits in the outbox. Holds no rules: delivery lives in notifications.delivery."""
from __future__ import annotations

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from qcflow import bootstrap
from qcflow.services.mail import deliver_outbox as deliver


@task(cache_policy=NO_CACHE, task_run_name="send-pending-mail")
def send_pending_mail() -> dict:
    bootstrap.ensure()
    report = deliver()  # no task retries: the outbox keeps its own per-message attempts and backoff
    return {"sent": report.sent, "retried": report.retried, "gave_up": report.gave_up,
            "errors": report.errors, "summary": report.summary()}


@flow(name="deliver-outbox", log_prints=True)
def deliver_outbox() -> dict:
    result = send_pending_mail()
    print(result["summary"])
    return result
