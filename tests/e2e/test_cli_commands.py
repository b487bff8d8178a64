"""The `qcflow` command's surface: every command and option name, `--json` on either side, exit codes."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from qcflow.cli import main
from qcflow.store.db import unit_of_work
from tests.helpers import REVIEWER, ROOT, SECRETARY, new_document

pytestmark = pytest.mark.db

# Each command with the options scripts use (README, "Commands"); a rename breaks someone's script.
COMMANDS = {
    ("init",): [],
    ("directory", "load"): [],
    ("case", "new"): ["--as", "--data"],
    ("case", "fire"): ["--as", "--comment", "--data", "--expected-version"],
    ("case", "attach"): ["--as"],
    ("case", "show"): ["--as"],
    ("case", "list"): ["--state", "--as"],
    ("meetings", "record"): ["--center", "--as", "--data"],
    ("meetings", "list"): ["--center", "--year"],
    ("deaths", "import"): ["--hospital", "--as", "--mapping"],
    ("deaths", "report"): ["--hospital", "--as", "--data"],
    ("deaths", "drg", "load"): ["--year"],
    ("deaths", "show"): ["--as"],
    ("deaths", "summary"): [],
    ("center", "list"): [],
    ("center", "show"): [],
    ("center", "change"): ["--as", "--data"],
    ("outbox", "deliver"): [],
    ("deadlines", "sweep"): ["--as-of"],
    ("due",): ["--center", "--late", "--as-of"],
    ("calendar", "load"): [],
    ("flows", "run"): ["--param"],
    ("serve",): ["--demo", "--no-prefect"],
    ("demo",): [],
}


def test_every_command_and_option_keeps_its_name(db_url, capsys):
    for path, options in COMMANDS.items():
        assert main([*path, "--help"]) == 0, path
        shown = capsys.readouterr().out
        for option in [*options, "--json"]:
            assert option in shown, (path, option)


def test_the_help_is_in_chinese(db_url, capsys):
    assert main(["-h"]) == 0
    shown = capsys.readouterr().out
    assert "医疗质控中心管理平台" in shown and "以 JSON 输出（供脚本使用）" in shown and "死亡病例评审" in shown
    assert main(["case", "fire", "--help"]) == 0
    assert "对事项执行一个操作" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [
    [], ["case"], ["nonsense"], ["case", "show", "document"], ["case", "show", "document", "abc"],
    ["case", "new", "document", "--data", "x.yaml"], ["case", "list", "document", "--bogus"],
    ["case", "attach", "document", "1", "license", "x.pdf", "--as", SECRETARY], ["deaths", "drg", "load", "x.csv"],
])
def test_bad_arguments_exit_2_with_a_hint_in_chinese(db_url, capsys, argv):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "命令参数有误：" in err and "--help` 查看用法。" in err and "Traceback" not in err


def test_json_after_the_sub_command_is_the_same_as_before_it(demo, capsys):
    with unit_of_work() as session:
        case_id = str(new_document(session))
    assert main(["--json", "case", "show", "document", case_id]) == 0
    before = json.loads(capsys.readouterr().out)
    assert main(["case", "show", "document", case_id, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == before and before["state"] == "draft"

    assert main(["case", "fire", "document", case_id, "sign", "--as", REVIEWER, "--json"]) == 2
    refused = json.loads(capsys.readouterr().out)
    assert refused["error"] == "refused" and any("Y§18" in m for m in refused["messages"])


def test_someone_acting_first_is_a_conflict_exit_3(demo, capsys):
    with unit_of_work() as session:
        case_id = str(new_document(session))
    assert main(["case", "fire", "document", case_id, "submit", "--as", SECRETARY, "--expected-version", "7"]) == 3
    assert "操作未执行：" in capsys.readouterr().err
    assert main(["--json", "case", "fire", "document", case_id, "submit", "--as", SECRETARY,
                 "--expected-version", "7"]) == 3
    assert json.loads(capsys.readouterr().out)["error"] == "conflict"


def test_case_show_loads_neither_prefect_nor_the_web_stack(demo):
    with unit_of_work() as session:
        case_id = new_document(session)
    probe = ("import sys\nfrom qcflow.cli import main\n"
             f"assert main(['case', 'show', 'document', '{case_id}']) == 0\n"
             "print(sorted({m.split('.')[0] for m in sys.modules} & {'prefect', 'uvicorn', 'fastapi', 'web', 'flows', 'rich'}))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
