"""The calendar flows' `as_of`, checked like sweep-deadlines': a date that is not one gets a clear Chinese
error (no traceback, nothing run), a day after today only previews (nothing stored, no mail) unless
force=true."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlmodel import func, select

from models import Case, Dispatch, OutboxMessage
from qcflow.core.errors import UserError
from qcflow.store.db import unit_of_work
from tests.helpers import ROOT

pytestmark = pytest.mark.db


def _stored() -> tuple[int, int, int]:
    with unit_of_work() as s:
        return tuple(s.exec(select(func.count()).select_from(t)).one() for t in (Case, OutboxMessage, Dispatch))


@pytest.mark.parametrize("bad,says", [("2026-02-30", "无效"), ("9999-12-31", "超出可处理的范围"), ("明天", "无效"),
                                      ("1999-01-01", "超出可处理的范围")])
def test_a_date_that_is_not_one_is_refused_in_chinese_by_every_calendar_flow(harness, demo, bad, says):
    from flows.check_meetings import check_meetings
    from flows.dispatch_meeting import dispatch_meeting_invite
    from flows.open_reports import open_reports_flow

    for run in (lambda: check_meetings(as_of=bad), lambda: dispatch_meeting_invite(as_of=bad),
                lambda: open_reports_flow(kind="year_end", as_of=bad)):
        with pytest.raises(UserError, match=says):
            run()
    assert _stored() == (0, 0, 0)


def test_a_later_day_previews_what_would_happen_and_keeps_nothing(harness, demo):
    from flows.check_meetings import check_meetings
    from flows.dispatch_meeting import dispatch_meeting_invite
    from flows.open_reports import open_reports_flow

    reminded = check_meetings(as_of="2026-12-10")
    assert reminded["preview"] and reminded["reminded"] and reminded["mail"]["sent"] == 0
    invited = dispatch_meeting_invite(as_of="2026-12-20")
    assert invited["preview"] and invited["invited"] == ["dispatch:CARD:2027-01", "dispatch:NURS:2027-01"]
    opened = open_reports_flow(kind="half_year", as_of="2027-06-01")
    assert opened["preview"] and opened["opened"] == ["CARD", "NURS"] and "预览" in opened["summary"]
    assert _stored() == (0, 0, 0)
    acted = check_meetings(as_of="2026-12-10", force=True)
    assert not acted["preview"] and acted["reminded"] == reminded["reminded"]


def test_flows_run_refuses_a_bad_date_with_exit_2_and_the_chinese_reason(demo):
    result = subprocess.run([sys.executable, "-m", "qcflow", "flows", "run", "check-meetings", "--local",
                             "--param", "as_of=2026-02-30"], capture_output=True, text=True, cwd=ROOT,
                            env={**os.environ, "PREFECT_API_URL": ""}, timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "日期“2026-02-30”无效" in result.stderr
    assert "流程 check-meetings 已运行" not in result.stdout


@pytest.mark.parametrize("year", ["99999", "0", "-5"])
def test_meetings_list_refuses_a_year_out_of_range_cleanly(demo, year):
    result = subprocess.run([sys.executable, "-m", "qcflow", "meetings", "list", "--year", year], capture_output=True,
                            text=True, cwd=ROOT, env=dict(os.environ), timeout=60)
    assert result.returncode == 2 and f"年份 {year} 不合理" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
