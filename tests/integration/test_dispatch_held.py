"""The monthly dispatch meeting held (H4): recorded with its topics (improvement goals, adverse events
and their tracing), attendees from the levels above and below, and minutes; a completed month without
one shows in the center's obligations (/due, the center page) and in the assessment's evidence; the
.ics invitation stays."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlmodel import func, select

from qcflow.services import meetings
from qcflow.store.db import unit_of_work
from states.rules import Refused
from tests.helpers import SECRETARY
from tests.integration.governance_support import directory_file, load, site  # noqa: F401

SHANGHAI = ZoneInfo("Asia/Shanghai")
HELD = {
    "kind": "dispatch", "held_on": "2026-12-07", "title": "2026年12月心血管病质控工作调度会",
    "attendees": [{"name": "陆一鸣", "title": "主任医师", "institution": "青川市第一人民医院", "level": "same"},
                  {"name": "邱省远", "institution": "省心血管病质控中心", "level": "upper"},
                  {"name": "林县川", "institution": "临溪县心血管病质控组", "level": "lower"}],
    "minutes": "通报本月改进目标进度；两例不良事件溯源整改情况。",
    "topics": [{"topic": "improvement_goals", "note": "急性心梗再灌注率 11 月 86%，目标 90%"},
               {"topic": "adverse_events", "note": "2 例 II 级事件，根因：交接班遗漏，已整改"}],
}


@pytest.fixture
def directory(engine, tmp_path):
    load(directory_file(tmp_path))  # CARD's people take up their posts on 2026-11-24 (the load day)


def _record(data: dict, today: date = date(2027, 1, 10)):
    with unit_of_work() as session:
        return meetings.record_meeting(session, "CARD", SECRETARY, data, today=today)


def _meeting_count() -> int:
    from models import Meeting

    with unit_of_work() as session:
        return session.exec(select(func.count()).select_from(Meeting)).one()


def test_a_dispatch_meeting_without_its_topics_levels_and_minutes_is_refused_with_h4(directory):
    bare = {**HELD, "topics": [{"topic": "improvement_goals", "note": "进度"}], "minutes": "",
            "attendees": [{"name": "陆一鸣", "level": "same"}]}
    with pytest.raises(Refused) as refused:
        _record(bare)
    text = str(refused.value)
    assert "医疗质量安全（不良）事件发生与溯源情况" in text and "上级质控中心" in text and "下级质控中心" in text
    assert "会议纪要" in text and {r.rule for r in refused.value.reasons} == {"H4"}
    with pytest.raises(Refused, match="层级"):
        _record({**HELD, "attendees": [{"name": "某人", "level": "province"}]})
    with pytest.raises(Refused, match="只有调度会议"):
        _record({**HELD, "kind": "training"})
    assert _meeting_count() == 0


def test_a_recorded_dispatch_meeting_keeps_its_topics(directory):
    _record(HELD)
    with unit_of_work() as session:
        [listed] = meetings.list_meetings(session, "CARD")
    assert [t["label"] for t in listed["topics"]] == ["年度改进目标落实情况", "医疗质量安全（不良）事件发生与溯源情况"]
    assert {a["level"] for a in listed["attendees"]} == {"same", "upper", "lower"}


def test_a_month_without_a_dispatch_meeting_is_flagged_and_a_held_one_clears_it(directory, clock):
    with unit_of_work() as session:
        assert meetings.dispatch_obligations(session, date(2026, 11, 30)) == []  # November is not over yet
        before = meetings.dispatch_obligations(session, date(2027, 1, 10), "CARD")
    assert [r["label"] for r in before] == ["2026年11月未召开工作调度会", "2026年12月未召开工作调度会"]
    _record(HELD)
    with unit_of_work() as session:
        after = meetings.dispatch_obligations(session, date(2027, 1, 10))
    assert [(r["center"], r["month"]) for r in after] == [("CARD", "2026-11"), ("NURS", "2026-11"), ("NURS", "2026-12")]


def test_the_assessment_evidence_shows_held_meetings_and_missing_months(directory, clock):
    from models import Center
    from qcflow.services.evidence import collect

    clock.set(datetime(2027, 1, 10, 9, 0, tzinfo=SHANGHAI))
    _record(HELD)
    with unit_of_work() as session:
        card = session.exec(select(Center).where(Center.code == "CARD")).one()
        [found] = [e for e in collect(session, card, 2026) if e["source"] == "每月工作调度会（H4）"]
    labels = [e["label"] for e in found["entries"]]
    assert found["item"] == "4" and labels == ["2026-12-07 2026年12月心血管病质控工作调度会", "2026年11月未召开工作调度会"]


def test_the_due_page_and_the_center_page_show_the_missing_month_over_http(directory, site, clock):
    base, _ = site
    clock.set(datetime(2027, 1, 10, 9, 0, tzinfo=SHANGHAI))
    _record(HELD)
    due = httpx.get(f"{base}/due?center=CARD")
    assert due.status_code == 200 and "2026年11月未召开工作调度会" in due.text
    assert "2026年12月未召开工作调度会" not in due.text
    page = httpx.get(f"{base}/centers/CARD")
    assert page.status_code == 200 and "2026年11月未召开工作调度会" in page.text


def test_the_invitation_with_its_calendar_file_stays(directory):
    with unit_of_work() as session:
        assert meetings.send_dispatch_invitations(session, date(2026, 11, 24)) == ["dispatch:CARD:2026-12",
                                                                                     "dispatch:NURS:2026-12"]


def test_center_dispatch_lists_the_missing_months_from_the_command_line(directory):
    import json
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    _record(HELD)
    env = {**os.environ, "QCFLOW_FIXED_NOW": "2027-01-10T09:00:00+08:00"}
    run = subprocess.run([sys.executable, "-m", "qcflow", "center", "dispatch", "CARD", "--json"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert [r["month"] for r in json.loads(run.stdout)] == ["2026-11"]
    unknown = subprocess.run([sys.executable, "-m", "qcflow", "center", "dispatch", "NOPE"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
    assert unknown.returncode == 2 and "NOPE" in unknown.stderr
