"""The `qcflow` command as a user runs it: real processes, a real database file, exit codes and messages."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.helpers import REVIEWER, ROOT, SECRETARY
from tests.smtp import SmtpServer

pytestmark = pytest.mark.db


@pytest.fixture
def qcflow(db_url, tmp_path):
    env = {**os.environ, "QCFLOW_DATABASE_URL": db_url, "QCFLOW_DATA_DIR": str(tmp_path / "data"),
           "QCFLOW_SECRET_KEY": "test-secret"}
    env.pop("QCFLOW_SMTP_HOST", None)

    def run(*args: str, stdin: str | None = None, extra_env: dict | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "qcflow", *args], input=stdin, capture_output=True,
                              text=True, env={**env, **(extra_env or {})}, cwd=ROOT, timeout=60)

    return run


def _ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, result.stderr
    return result


def test_load_create_fire_show_and_list(qcflow):
    _ok(qcflow("init"))
    loaded = json.loads(_ok(qcflow("--json", "directory", "load", "demo/directory.yaml")).stdout)
    people = (ROOT / "demo" / "directory.yaml").read_text(encoding="utf-8").count("  - email:")
    assert loaded["created"]["people"] == people and loaded["changed"]
    assert "名录无变化" in _ok(qcflow("directory", "load", "demo/directory.yaml")).stdout

    created = json.loads(_ok(qcflow("--json", "case", "new", "document", "--as", SECRETARY,
                                    "--data", "demo/meeting_notice.yaml")).stdout)
    case_id = str(created["id"])
    assert created["state"] == "draft"
    assert "已提交" in _ok(qcflow("case", "fire", "document", case_id, "submit", "--as", SECRETARY)).stdout

    refused = qcflow("case", "fire", "document", case_id, "request_changes", "--as", REVIEWER)
    assert refused.returncode == 2
    assert "操作被拒绝" in refused.stderr and "修改意见" in refused.stderr and "Y§18" in refused.stderr

    as_json = qcflow("--json", "case", "fire", "document", case_id, "sign", "--as", REVIEWER)
    assert as_json.returncode == 2 and json.loads(as_json.stdout)["error"] == "refused"

    _ok(qcflow("case", "fire", "document", case_id, "request_changes", "--as", REVIEWER, "--comment", "请补充议程"))
    _ok(qcflow("case", "fire", "document", case_id, "submit", "--as", SECRETARY, "--data", "-",
               stdin="body: 补充了议程的正文\n"))
    shown = _ok(qcflow("case", "show", "document", case_id)).stdout
    assert "请补充议程" in shown and "退回修改 → 已提交" in shown
    listed = json.loads(_ok(qcflow("--json", "case", "list", "document", "--state", "submitted")).stdout)
    assert [row["id"] for row in listed] == [int(case_id)]


def test_bad_input_gets_a_clear_message_and_no_traceback(qcflow, tmp_path):
    _ok(qcflow("init"))
    broken = tmp_path / "broken.yaml"
    broken.write_text((ROOT / "demo" / "directory.yaml").read_text(encoding="utf-8")
                      .replace("email: expert1@qcexperts.example", "email: not-an-email"), encoding="utf-8")
    results = [
        (qcflow("directory", "load", str(broken)), "第 "),
        (qcflow("directory", "load", "no/such/file.yaml"), "无法读取"),
        (qcflow("case", "new", "document", "--as", SECRETARY, "--data", "no/such.yaml"), "无法读取数据文件"),
        (qcflow("case", "new", "nonsense", "--as", SECRETARY, "--data", "demo/meeting_notice.yaml"), "没有“nonsense”这类事项"),
        (qcflow("case", "show", "document", "999"), "没有编号为 999"),
        (qcflow("case", "list", "document", "--state", "bogus"), "状态“bogus”无效"),
        (qcflow("case", "fire", "document", "abc", "submit", "--as", SECRETARY), "命令参数有误"),
        (qcflow("flows", "run", "no-such-flow"), "没有名为“no-such-flow”的流程"),
    ]
    for result, expected in results:
        assert result.returncode == 2, (result.args, result.stdout, result.stderr)
        assert expected in result.stderr, (result.args, result.stderr)
        assert "Traceback" not in result.stderr
    # nothing of the broken directory landed
    assert "people" not in json.loads(_ok(qcflow("--json", "directory", "load", "demo/directory.yaml")).stdout)["updated"]


def test_a_command_before_init_says_to_run_init(qcflow, tmp_path):
    empty = {"QCFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'never-initialised.db'}"}
    result = qcflow("case", "list", "document", extra_env=empty)
    assert result.returncode == 1 and "qcflow init" in result.stderr and "Traceback" not in result.stderr


def test_outbox_deliver_sends_to_the_configured_server(qcflow):
    _ok(qcflow("init"))
    _ok(qcflow("directory", "load", "demo/directory.yaml"))
    case_id = json.loads(_ok(qcflow("--json", "case", "new", "document", "--as", SECRETARY,
                                    "--data", "demo/meeting_notice.yaml")).stdout)["id"]
    _ok(qcflow("case", "fire", "document", str(case_id), "submit", "--as", SECRETARY))
    with SmtpServer() as smtp:
        env = {"QCFLOW_SMTP_HOST": "127.0.0.1", "QCFLOW_SMTP_PORT": str(smtp.port)}
        report = json.loads(_ok(qcflow("--json", "outbox", "deliver", extra_env=env)).stdout)
        assert report["sent"] == 3 and len(smtp.messages) == 3
        assert "已发送 0 封" in _ok(qcflow("outbox", "deliver", extra_env=env)).stdout


def test_deaths_import_reports_per_row_errors_and_is_idempotent(qcflow):
    _ok(qcflow("init"))
    _ok(qcflow("directory", "load", "demo/directory.yaml"))
    _ok(qcflow("deaths", "drg", "load", "demo/deaths/low_risk_drg_2026.csv", "--year", "2026"))
    args = ("deaths", "import", "demo/deaths/sample_deaths.csv", "--hospital", "QCH1", "--as",
            "reviewer@wjw.qingchuan.example")
    first = qcflow("--json", *args)
    assert first.returncode == 2  # some rows were refused: the exit code says so
    report = json.loads(first.stdout)
    assert (report["read"], report["created"], report["refused"]) == (300, 282, 8)
    assert any("第 32 行" in e for e in report["errors"])
    again = json.loads(qcflow("--json", *args).stdout)
    assert again["created"] == 0 and again["duplicates"] == 292
    other = qcflow("deaths", "import", "demo/deaths/sample_deaths.csv", "--hospital", "QCH1",
                   "--as", "secretary@nurs.qingchuan.example")
    assert other.returncode == 2 and "只能导入本单位的死亡病例" in other.stderr


def test_one_death_reported_by_form_is_pseudonymized_and_counted_once(qcflow, tmp_path):
    _ok(qcflow("init"))
    _ok(qcflow("directory", "load", "demo/directory.yaml"))
    form = tmp_path / "death.yaml"
    form.write_text("病案号: F-001\n入院日期: 2026-11-01\n死亡日期: 2026-11-03\n科室: 心内科\n"
                    "主要诊断: 急性心肌梗死\n患者姓名: 测试患者X\n身份证号: 999999199001010011\n", encoding="utf-8")
    args = ("--json", "deaths", "report", "--hospital", "QCH1", "--as", "reviewer@wjw.qingchuan.example",
            "--data", str(form))
    assert json.loads(_ok(qcflow(*args)).stdout)["created"] == 1
    assert json.loads(_ok(qcflow(*args)).stdout)["duplicates"] == 1
    shown = _ok(qcflow("--json", "deaths", "show", "1", "--as", "reviewer@wjw.qingchuan.example")).stdout
    assert "F-001" in shown and "测试患者X" not in shown and "999999199001010011" not in shown
