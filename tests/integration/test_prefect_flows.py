"""prefect.yaml is the one source of truth: entrypoints import, served deployments equal the declared
ones, and the flows run for real on Prefect's test harness."""
from __future__ import annotations


import pytest
import yaml

from qcflow.run import deployments
from tests.helpers import reconfigure, SECRETARY, fire, new_document
from tests.smtp import SmtpServer


def test_every_declared_entrypoint_imports_a_flow():
    from prefect.flows import Flow

    specs = deployments.declared()
    assert {s["name"] for s in specs} >= {"deliver-outbox", "sweep-deadlines", "open-half-year-reports",
                                         "open-year-end-reports"}
    for spec in specs:
        assert isinstance(deployments.load_flow(spec["entrypoint"]), Flow), spec["entrypoint"]


def test_served_deployments_equal_the_declared_ones():
    raw = yaml.safe_load(deployments.PREFECT_YAML.read_text(encoding="utf-8"))["deployments"]
    served = deployments.build()
    assert [d.name for d in served] == [s["name"] for s in raw]
    for dep, spec in zip(served, raw):
        crons = [(s.schedule.cron, s.schedule.timezone) for s in dep.schedules]
        assert crons == [(s["cron"], s["timezone"]) for s in spec["schedules"]]
        assert all(tz == "Asia/Shanghai" for _, tz in crons)
        assert dep.parameters == (spec.get("parameters") or {})




@pytest.mark.db
def test_sweep_flow_reminds_through_smtp_and_a_rerun_sends_nothing(harness, demo, monkeypatch):
    from flows.sweep_deadlines import sweep_deadlines
    from qcflow.core.runtime import get_settings

    with SmtpServer() as smtp:
        monkeypatch.setenv("QCFLOW_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("QCFLOW_SMTP_PORT", str(smtp.port))
        reconfigure()
        from qcflow.store.db import unit_of_work

        with unit_of_work() as s:
            case_id = new_document(s)
        fire(case_id, "submit", SECRETARY)
        first = sweep_deadlines(as_of="2030-01-10", force=True)  # a future day, acted on: long past the deadline
        assert first["reminded"] == 1 and first["escalated"] == 1
        received = len(smtp.messages)
        subjects = [m["Subject"] for m in smtp.messages]
        assert any("【逾期督办】" in s for s in subjects) and any("【办理提醒】" in s for s in subjects)
        second = sweep_deadlines(as_of="2030-01-11", force=True)
        assert second["reminded"] == 0 and second["escalated"] == 0
        assert second["mail"]["sent"] == 0 and len(smtp.messages) == received
