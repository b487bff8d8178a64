"""Y§22 matrix: every role × every read path reachable today × every kind — allowed exactly where the
rules allow (states/privacy.py), and every private read written to the access log.

One database per module: the demo directory, two hospital quality-office people, one case of each
kind, and two deaths — one reported by QCH1 and assigned to the cardiology center with its deputy
as reviewer (discussion recorded), one reported by QCH2 and not yet assigned. The expected access
is written out by hand from the rules below, not computed by the code under test.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time

import httpx
import pytest
import uvicorn
import yaml
from sqlalchemy import text
from sqlmodel import SQLModel, select

from tests.conftest import DEMO_DIRECTORY, PG_URL, TEST_NOW
from tests.helpers import DIRECTOR, LEADER, OTHER_SECRETARY, REVIEWER, ROOT, SECRETARY, notice_data
from tests.smtp import free_port

pytestmark = pytest.mark.db

DEPUTY = "deputy@card.qingchuan.example"  # of CARD, and the assigned reviewer of the QCH1 death
EXPERT = "expert1@qcexperts.example"
OFFICE_QCH1 = "zhikong@qch1.qingchuan.example"  # hospital quality office (质控科), no role
OFFICE_QCH2 = "zhikong@qch2.qingchuan.example"  # the demo directory's quality office of QCH2 (role quality_office)
ROLES = {
    "commission": REVIEWER, "signing_leader": LEADER, "center_director": DIRECTOR, "center_secretary": SECRETARY,
    "assigned_reviewer": DEPUTY, "other_center": OTHER_SECRETARY, "expert": EXPERT,
    "hospital_same": OFFICE_QCH1, "hospital_other": OFFICE_QCH2, "anonymous": None,
}
PUBLIC = ("document", "report", "application")
DEATHS = ("death_qch1", "death_qch2")  # assigned to CARD / not assigned

# The rules: the commission section sees all; the assigned reviewers and the assigned center's people
# see the review but not the patient key; the reporting hospital sees its report and the progress;
# nobody else — and nobody anonymous — sees a death's detail.
EXPECTED = {
    "death_qch1": {"commission": "full", "center_director": "review", "center_secretary": "review",
                   "assigned_reviewer": "review", "hospital_same": "reporter"},
    # QCH2 reported it: its people (who may import its deaths) — the quality office, and the CARD deputy,
    # the nursing secretary and the expert, who all work there — see the report, not a review.
    "death_qch2": {"commission": "full", "hospital_other": "reporter", "assigned_reviewer": "reporter",
                   "other_center": "reporter", "expert": "reporter"},
}


def expected(case: str, role: str) -> str:
    if case in PUBLIC:
        return "full"
    return EXPECTED[case].get(role, "none")


DEATH_QCH1 = {"hospital": "QCH1", "record_no": "BA-7001", "admitted_on": "2026-11-01", "died_on": "2026-11-05",
              "department": "心内科", "diagnosis": "急性心肌梗死", "drg": "FR29", "low_risk": True,
              "patient_name": "测试患者甲", "id_number": "999999199001010011"}
DEATH_QCH2 = {"hospital": "QCH2", "record_no": "ZX-8002", "admitted_on": "2026-11-10", "died_on": "2026-11-12",
              "department": "呼吸科", "diagnosis": "重症肺炎", "drg": "ES29", "low_risk": False}
DISCUSSION = {"date": "2026-11-10", "place": "心内科示教室", "chair": "陆一鸣 主任医师", "participants": "方建国 主任医师",
              "cause_of_death": "心源性休克", "final_diagnosis": "急性心肌梗死", "course": "急诊介入",
              "opinions": "方建国：再灌注延迟", "summary": "再灌注时间延迟是主要问题"}
SECRETS = ("BA-7001", "ZX-8002", "急性心肌梗死", "重症肺炎", "测试患者甲", "999999199001010011")


@pytest.fixture(scope="module")
def world(request, tmp_path_factory):
    """The database, the settings pointing at it, the cases, and the web app on a real port."""
    from qcflow import bootstrap, engine
    from qcflow.core.clock import FixedClock
    from qcflow.core.settings import Settings
    from qcflow.services import directory
    from qcflow.store.db import make_engine, unit_of_work
    from models import Institution, Person

    data_dir = tmp_path_factory.mktemp("privacy") / "data"
    data_dir.mkdir(parents=True)
    with pytest.MonkeyPatch.context() as mp:
        if PG_URL:
            url = request.getfixturevalue("_pg_migrated")
            pg = make_engine(url)
            tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
            with pg.begin() as conn:
                conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            pg.dispose()
        else:
            shutil.copy(request.getfixturevalue("_sqlite_template"), data_dir / "qcflow.db")
            url = f"sqlite:///{data_dir / 'qcflow.db'}"
        mp.setenv("QCFLOW_DATA_DIR", str(data_dir))
        mp.setenv("QCFLOW_DATABASE_URL", url)
        mp.setenv("QCFLOW_SECRET_KEY", "privacy-matrix-test-secret-" + "x" * 32)  # the CLI child refuses short keys
        mp.setenv("QCFLOW_FIXED_NOW", TEST_NOW.isoformat())
        mp.delenv("QCFLOW_SMTP_HOST", raising=False)
        bootstrap.configure(Settings(), FixedClock(TEST_NOW))
        ids = {}
        with unit_of_work() as s:
            directory.load_file(s, DEMO_DIRECTORY)
            for email, code in ((OFFICE_QCH1, "QCH1"),):
                hospital = s.exec(select(Institution).where(Institution.code == code)).one()
                s.add(Person(email=email, name=f"{code}质控科", institution_id=hospital.id))
        with unit_of_work() as s:
            from models import Center

            ids["document"] = engine.create_case(s, "document", SECRETARY, notice_data()).id
            card = s.exec(select(Center).where(Center.code == "CARD")).one()
            ids["report"] = engine.open_case(s, "report", card, "心血管中心2026年上半年工作总结",
                                             {"report_kind": "half_year", "period": "2026H1",
                                              "due_date": "2026-06-30", "summary": "", "plan": ""},
                                             key="report:CARD:2026H1").id
            application = yaml.safe_load((ROOT / "demo" / "applications" / "respiratory.yaml").read_text("utf-8"))
            ids["application"] = engine.create_case(s, "application", "yan.keqin@qch2.qingchuan.example",
                                                    application).id
            for name, death in (("death_qch1", DEATH_QCH1), ("death_qch2", DEATH_QCH2)):
                case = engine.create_case(s, "death_review", REVIEWER, death)
                engine.fire_as_system(s, case, "screen")
                ids[name] = case.id
        with unit_of_work() as s:
            engine.fire(s, "death_review", ids["death_qch1"], "assign", email=REVIEWER,
                        changes={"center": "CARD", "reviewers": [DEPUTY]})
        with unit_of_work() as s:
            engine.fire(s, "death_review", ids["death_qch1"], "start_investigation", email=DEPUTY)
        with unit_of_work() as s:
            engine.fire(s, "death_review", ids["death_qch1"], "record_discussion", email=DEPUTY,
                        comment="讨论意见：再灌注延迟", changes={"discussion": DISCUSSION})

        from web.app import app

        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        yield {"ids": ids, "base": f"http://127.0.0.1:{port}", "env": dict(os.environ)}
        server.should_exit = True
        thread.join(5)
        bootstrap.close()


def person_id(email):
    from qcflow import engine
    from qcflow.store.db import unit_of_work

    if email is None:
        return None
    with unit_of_work() as s:
        return engine.person_by_email(s, email).id


def access_rows(case_id: int) -> int:
    from models import AccessLog
    from qcflow.store.db import unit_of_work

    with unit_of_work() as s:
        return len(s.exec(select(AccessLog).where(AccessLog.case_id == case_id)).all())


def kind_of(case: str) -> str:
    return "death_review" if case.startswith("death") else case


def stored_title(case_id: int) -> str:
    from models import Case
    from qcflow.store.db import unit_of_work

    with unit_of_work() as s:
        return s.get(Case, case_id).title


CELLS = [(role, case) for role in ROLES for case in (*PUBLIC, *DEATHS)]


# --- the service ---------------------------------------------------------------------------------

@pytest.mark.parametrize("role,case", CELLS)
def test_the_read_service_allows_exactly_what_the_rules_allow(world, role, case):
    from qcflow import engine
    from qcflow.services import access
    from qcflow.store.db import unit_of_work
    from states.rules import Refused

    case_id, want, pid = world["ids"][case], expected(case, role), person_id(ROLES[role])
    logged = access_rows(case_id)
    with unit_of_work() as s:
        row = engine.load_case(s, kind_of(case), case_id)
        reason = access.may_read(s, row, pid)
        assert (reason is None) == (want != "none"), (role, case, reason)
        if want == "none":
            with pytest.raises(Refused) as refused:
                access.readable_detail(s, row, pid, "test")
            assert "Y§22" in str(refused.value)
            detail = None
        else:
            detail = access.readable_detail(s, row, pid, "test")
    assert access_rows(case_id) == logged + (1 if case in DEATHS and want != "none" else 0)
    if detail is None:
        return
    assert detail["access"] == want
    data = detail["data"]
    if case in DEATHS:
        assert ("patient_key" in data) == (want == "full" and case == "death_qch1")  # QCH2 gave no identity
        assert ("discussion" in data) == (want in ("full", "review") and case == "death_qch1")
        assert data["record_no"] in ("BA-7001", "ZX-8002")  # the reporting hospital sees what it sent
        comments = [e["comment"] for e in detail["history"] if e["comment"]]
        assert bool(comments) == (want in ("full", "review") and case == "death_qch1")


@pytest.mark.parametrize("role,case", CELLS)
def test_lists_show_a_death_s_title_only_to_those_who_may_open_it(world, role, case):
    from qcflow.services import access
    from qcflow.store.db import unit_of_work

    case_id, pid = world["ids"][case], person_id(ROLES[role])
    with unit_of_work() as s:
        rows = access.visible_rows(s, kind_of(case), pid)
        total = access.count_rows(s, kind_of(case), pid)
        by_hospital = access.visible_rows(s, kind_of(case), pid, query="QCH")
    row = next(r for r in rows if r["id"] == case_id)
    shown = expected(case, role) != "none"
    assert total == len(rows)
    assert (row["title"] == stored_title(case_id)) == shown
    if case in DEATHS:
        assert not shown or row["title"].startswith("死亡病例 QCH")
        assert shown or row["title"] == f"死亡病例评审 #{case_id}"
        assert (case_id in {r["id"] for r in by_hospital}) == shown  # a search cannot see a hidden title
    assert not any(secret in json.dumps(rows, ensure_ascii=False) for secret in SECRETS)


def test_pagination_counts_and_slices_what_the_person_may_see(world):
    from qcflow.services import access
    from qcflow.store.db import unit_of_work

    commission = person_id(REVIEWER)
    with unit_of_work() as s:
        everything = access.visible_rows(s, "death_review", commission)
        first = access.visible_rows(s, "death_review", commission, limit=1)
        second = access.visible_rows(s, "death_review", commission, limit=1, offset=1)
        screened = access.count_rows(s, "death_review", None, state="screened")
    assert [r["id"] for r in first + second] == [r["id"] for r in everything][:2]
    assert screened == 1  # the QCH2 death; the QCH1 one is discussed


# --- the CLI (in process, the command's own code) ------------------------------------------------

@pytest.mark.parametrize("role,case", CELLS)
def test_case_show_and_list_on_the_command_line(world, role, case, capsys):
    from qcflow.cli import main

    case_id, want, email = world["ids"][case], expected(case, role), ROLES[role]
    who = ["--as", email] if email else []
    logged = access_rows(case_id)
    code = main(["--json", "case", "show", kind_of(case), str(case_id), *who])
    shown = capsys.readouterr().out
    if want == "none":
        assert code == 2 and "Y§22" in shown
        if email is None:
            assert "--as" in shown
        assert not any(secret in shown for secret in SECRETS)
    else:
        assert code == 0 and json.loads(shown)["access"] == want
    assert access_rows(case_id) == logged + (1 if case in DEATHS and want != "none" else 0)

    code = main(["--json", "case", "list", kind_of(case), *who])
    listed = capsys.readouterr().out
    if case in DEATHS and email is None:
        assert code == 2 and "--as" in listed
        return
    assert code == 0
    titles = {r["id"]: r["title"] for r in json.loads(listed)}
    assert (titles[case_id] == stored_title(case_id)) == (want != "none")


def test_the_command_as_a_child_process_refuses_an_anonymous_death_read_with_exit_2(world):
    env, case_id = world["env"], str(world["ids"]["death_qch1"])
    before = access_rows(int(case_id))
    run = lambda *args: subprocess.run([sys.executable, "-m", "qcflow", *args], env=env, cwd=ROOT,  # noqa: E731
                                       capture_output=True, text=True, timeout=60)
    anonymous = run("case", "show", "death_review", case_id)
    assert anonymous.returncode == 2 and "Y§22" in anonymous.stderr and "--as" in anonymous.stderr
    assert "BA-7001" not in anonymous.stdout + anonymous.stderr
    commission = run("--json", "case", "show", "death_review", case_id, "--as", REVIEWER)
    assert commission.returncode == 0 and json.loads(commission.stdout)["data"]["record_no"] == "BA-7001"
    assert access_rows(int(case_id)) == before + 1


# --- the web pages nobody signs in to --------------------------------------------------------------

def test_the_pages_nobody_signs_in_to_show_no_private_title(world):
    base, ids = world["base"], world["ids"]
    pages = {path: httpx.get(f"{base}{path}") for path in
             ("/", "/due", "/search", "/search?kind=death_review", "/search?q=QCH1")}
    assert all(r.status_code == 200 for r in pages.values()), {p: r.status_code for p, r in pages.items()}
    shown = "".join(r.text for r in pages.values())
    assert stored_title(ids["document"]) in pages["/search"].text  # not private: shown
    for death in DEATHS:
        assert stored_title(ids[death]) not in shown
    assert not any(secret in shown for secret in SECRETS)
    assert "死亡病例评审" not in pages["/search?q=QCH1"].text.split("</form>")[-1]  # a search sees no hidden title
