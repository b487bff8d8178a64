"""Y§22: one death reported by form (`qcflow deaths report`) never writes the patient's clear identity to
disk: not as a temporary file while it is imported, not in the data directory afterwards."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from qcflow.services import deaths_import
from tests.helpers import REVIEWER, ROOT

pytestmark = pytest.mark.db

NAME, ID_NUMBER = "测试患者丙", "999999199002020022"
FORM = (f"病案号: F-777\n入院日期: 2026-11-01\n死亡日期: 2026-11-03\n科室: 心内科\n主要诊断: 急性心肌梗死\n"
        f"患者姓名: {NAME}\n身份证号: {ID_NUMBER}\n")


def files_holding_identity(*roots: Path) -> list[str]:
    """Regular files on disk (symlinks not followed: a link to a memory file holds no content) that
    contain the name or the ID number, in UTF-8 or GB18030."""
    needles = [v.encode(enc) for v in (NAME, ID_NUMBER) for enc in ("utf-8", "gb18030")]
    found = []
    for root in roots:
        for folder, _, names in os.walk(root):
            for name in names:
                path = Path(folder) / name
                if path.is_symlink() or not path.is_file():
                    continue
                content = path.read_bytes()
                if any(n in content for n in needles):
                    found.append(str(path))
    return found


@pytest.fixture
def private_tmp(tmp_path, monkeypatch) -> Path:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    return tmp


def test_while_it_is_imported_no_file_on_disk_holds_the_identity(demo, private_tmp, tmp_path, monkeypatch):
    seen: list[list[str]] = []
    real_import = deaths_import.import_file

    def spying_import(*args, **kwargs):  # the moment a temporary file would exist
        seen.append(files_holding_identity(private_tmp, tmp_path / "data"))
        return real_import(*args, **kwargs)

    monkeypatch.setattr(deaths_import, "import_file", spying_import)
    values = {"病案号": "F-777", "入院日期": "2026-11-01", "死亡日期": "2026-11-03", "科室": "心内科",
              "主要诊断": "急性心肌梗死", "患者姓名": NAME, "身份证号": ID_NUMBER}
    report = deaths_import.report_one(None, values, "QCH1", REVIEWER)
    assert report.created == 1
    assert seen == [[]]
    assert files_holding_identity(private_tmp, tmp_path / "data") == []


def test_the_cli_leaves_no_identity_in_the_data_dir_or_tmp(demo, private_tmp, tmp_path):
    env = {**os.environ, "TMPDIR": str(private_tmp)}
    env.pop("QCFLOW_SMTP_HOST", None)
    result = subprocess.run([sys.executable, "-m", "qcflow", "--json", "deaths", "report", "--hospital", "QCH1",
                             "--as", REVIEWER, "--data", "-"], input=FORM, capture_output=True, text=True,
                            env=env, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"created": 1' in result.stdout
    assert files_holding_identity(private_tmp, tmp_path / "data") == []
