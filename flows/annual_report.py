"""Build each specialty's annual quality report (H6, Y§14(三)) from the year's indicator data.

Safe to run again: a draft takes the new data, a report under review or approval keeps what is being
reviewed, a published one stays as published (the next build opens the next version).
"""
from __future__ import annotations

from typing import Optional

from qcflow import bootstrap  # first: it switches Prefect's telemetry off before prefect is imported

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.deliver_outbox import send_pending_mail
from qcflow.core.clock import today
from qcflow.core.errors import UserError
from qcflow.core.runtime import get_settings
from qcflow.services import annual_report
from qcflow.store.db import unit_of_work


@task(cache_policy=NO_CACHE, task_run_name="annual-report-{specialty}-{year}")
def build_one(specialty: str, year: int) -> dict:
    bootstrap.ensure()
    try:
        with unit_of_work() as session:
            built = annual_report.build(session, specialty, year)
    except UserError as err:  # e.g. no indicator dictionary for the year: say so, build the others
        return {"specialty": specialty, "year": year, "skipped": str(err)}
    files = annual_report.write_files(built, get_settings().data_dir / "reports")
    return {"specialty": specialty, "year": year, **built.summary(), **files}


@flow(name="annual-report", log_prints=True)
def annual_report_flow(year: Optional[int] = None, specialty: Optional[str] = None) -> dict:
    """year: the report's year (default: last year); specialty: one specialty (default: every active center's)."""
    bootstrap.ensure()
    chosen = year or today().year - 1
    if specialty:
        names = [specialty]
    else:
        with unit_of_work(read_only=True) as session:
            names = annual_report.specialties(session)
    results = [build_one(name, chosen) for name in names]
    built = [r for r in results if "skipped" not in r]
    mail = send_pending_mail()
    summary = f"{chosen} 年度报告：生成 {len(built)} 份，跳过 {len(results) - len(built)} 份；{mail['summary']}"
    print(summary)
    for r in results:
        print(f"  {r['specialty']}：{r.get('skipped') or r['title'] + '（' + r['state'] + '）'}")
    return {"year": chosen, "results": results, "mail": mail, "summary": summary}
