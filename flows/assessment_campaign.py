"""Open the year's assessment for every active center (Y§24; 述职评价 for a provincial commission, H7),
assign its scorers and mail them. Safe to run again: an open assessment is not opened twice."""
from __future__ import annotations

from typing import Optional

from qcflow import bootstrap  # first: it switches Prefect's telemetry off before prefect is imported

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.deliver_outbox import send_pending_mail
from qcflow.core.clock import local_date, utcnow
from qcflow.services.assessment import open_assessments
from qcflow.store.db import unit_of_work


@task(cache_policy=NO_CACHE, task_run_name="open-assessments-{year}")
def open_year_assessments(year: Optional[int], force: bool) -> dict:
    bootstrap.ensure()
    with unit_of_work() as session:
        # In December the campaign assesses the year that is ending (default when no year is given).
        return open_assessments(session, year or local_date(utcnow()).year, force)


@flow(name="assessment-campaign", log_prints=True)
def assessment_campaign(year: Optional[int] = None, force: bool = False) -> dict:
    """year: the year assessed (default: this year); force: gather the evidence again for open assessments."""
    result = open_year_assessments(year, force)
    mail = send_pending_mail()
    print(f"{result['summary']}；{mail['summary']}")
    return {**result, "mail": mail}
