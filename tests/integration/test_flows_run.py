"""`qcflow flows run` goes through the Prefect server that `serve` runs (or PREFECT_API_URL), so the
run shows in its UI with its logs; with no server it says so in Chinese and starts none; no
process of the project leaves Prefect's telemetry on."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import httpx
import pytest

from tests.helpers import ROOT
from tests.smtp import free_port

pytestmark = pytest.mark.db


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, **extra}
    env.pop("QCFLOW_SMTP_HOST", None)
    return env


def _qcflow(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qcflow", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=timeout)


@pytest.mark.parametrize("how", ["PREFECT_API_URL", "the serve port"])
def test_without_a_reachable_server_it_says_so_and_starts_none(db_url, tmp_path, how):
    port = free_port()  # nothing listens there
    env = _env(PREFECT_HOME=str(tmp_path / "prefect"))
    env.pop("PREFECT_API_URL", None)
    if how == "PREFECT_API_URL":
        env["PREFECT_API_URL"] = f"http://127.0.0.1:{port}/api"
    else:
        env["QCFLOW_PREFECT_PORT"] = str(port)
    started = time.monotonic()
    result = _qcflow("flows", "run", "sweep-deadlines", env=env)
    elapsed = time.monotonic() - started
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"无法连接 Prefect 服务（http://127.0.0.1:{port}/api）" in result.stderr
    assert "qcflow serve" in result.stderr and "--local" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert elapsed < 20  # a temporary Prefect server takes 30 s and more to start here
    assert not (tmp_path / "prefect" / "prefect.db").exists()  # no ephemeral server's database either


def test_a_bad_parameter_is_refused_in_chinese_before_anything_runs(db_url):
    result = _qcflow("flows", "run", "sweep-deadlines", "--param", "force=perhaps", "--local", env=_env())
    assert result.returncode == 2 and "参数 force=“perhaps”无效" in result.stderr


def test_telemetry_is_off_in_every_process_that_boots_qcflow():
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_SERVER_ANALYTICS_ENABLED", "DO_NOT_TRACK")}
    probe = ("import os, qcflow.bootstrap; "
             "print(os.environ['PREFECT_SERVER_ANALYTICS_ENABLED'], os.environ['DO_NOT_TRACK'])")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=ROOT,
                            timeout=60)
    assert result.stdout.split() == ["false", "1"], result.stderr


def test_a_run_goes_through_the_served_prefect_server_and_shows_there_with_its_logs(db_url, tmp_path):
    web, sink, prefect = free_port(), free_port(), free_port()
    env = _env(QCFLOW_WEB_PORT=str(web), QCFLOW_SINK_PORT=str(sink), QCFLOW_PREFECT_PORT=str(prefect),
               QCFLOW_PUBLIC_BASE_URL=f"http://127.0.0.1:{web}", PREFECT_HOME=str(tmp_path / "prefect"))
    env.pop("PREFECT_API_URL", None)
    server = subprocess.Popen([sys.executable, "-m", "qcflow", "serve"], env=env, cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    api = f"http://127.0.0.1:{prefect}/api"
    try:
        deadline = time.monotonic() + 180
        names: set[str] = set()
        while "sweep-deadlines" not in names and time.monotonic() < deadline:
            assert server.poll() is None, server.stdout.read()
            try:
                names = {d["name"] for d in httpx.post(f"{api}/deployments/filter", json={}, timeout=2).json()}
            except (httpx.HTTPError, ValueError, TypeError, KeyError):
                pass
            time.sleep(1)
        assert "sweep-deadlines" in names

        result = _qcflow("--json", "flows", "run", "sweep-deadlines", env=env, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        out = json.loads(result.stdout)
        assert out["ok"] is True and out["state"] == "COMPLETED"
        assert out["url"] == f"http://127.0.0.1:{prefect}/runs/flow-run/{out['flow_run_id']}"
        run = httpx.get(f"{api}/flow_runs/{out['flow_run_id']}", timeout=5).json()
        assert run["state"]["type"] == "COMPLETED"
        logs = httpx.post(f"{api}/logs/filter", json={"logs": {"flow_run_id": {"any_": [out["flow_run_id"]]}}},
                          timeout=5).json()
        assert any("检查" in log["message"] and "项期限" in log["message"] for log in logs)
        assert "项期限" in out["summary"]
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
