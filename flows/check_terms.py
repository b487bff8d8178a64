"""Tell the commission of every term ending within 3 months, once per center and term (Y§26). Rules: states.terms."""
from __future__ import annotations

from qcflow import bootstrap  # first: it switches Prefect's telemetry off before prefect is imported

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.deliver_outbox import send_pending_mail
from qcflow.services import terms
from qcflow.store.db import unit_of_work


@task(cache_policy=NO_CACHE, task_run_name="open-term-notices")
def open_term_notices() -> list[str]:
    bootstrap.ensure()
    with unit_of_work() as session:
        return terms.open_term_notices(session)


@flow(name="check-terms", log_prints=True)
def check_terms() -> dict:
    """Derived from the registry's terms, so a missed day is caught up by the next run."""
    keys = open_term_notices()
    sent = send_pending_mail()
    summary = f"聘期届满提示 {len(keys)} 项；{sent['summary']}"
    print(summary)
    return {"opened": keys, "mail": sent, "summary": summary}
