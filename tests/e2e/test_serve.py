"""`qcflow serve` as a new user starts it: web, local mail sink with /mailbox, Prefect with the schedules."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import httpx
import pytest

from tests.helpers import ROOT
from tests.smtp import free_port

pytestmark = pytest.mark.db


def _wait(url: str, timeout: float, proc: subprocess.Popen, method: str = "GET"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read()
        try:
            response = httpx.request(method, url, json={} if method == "POST" else None, timeout=2)
            if response.status_code == 200:
                return response
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} not ready in {timeout}s")


def test_serve_demo_shows_the_waiting_mail_and_registers_the_schedules(db_url, tmp_path):
    web, sink, prefect = free_port(), free_port(), free_port()
    env = {**os.environ, "QCFLOW_DATABASE_URL": db_url, "QCFLOW_DATA_DIR": str(tmp_path / "data"),
           "QCFLOW_WEB_PORT": str(web), "QCFLOW_SINK_PORT": str(sink), "QCFLOW_PREFECT_PORT": str(prefect),
           "QCFLOW_PUBLIC_BASE_URL": f"http://127.0.0.1:{web}", "PREFECT_HOME": str(tmp_path / "prefect")}
    env.pop("QCFLOW_SMTP_HOST", None)
    env.pop("PREFECT_API_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "qcflow", "serve", "--demo"], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{web}"
        _wait(f"{base}/health", 60, proc)
        # the seeded document's review mail reaches the sink (page actions or the flow deliver it)
        deadline, listing = time.monotonic() + 90, ""
        while "【待审核】" not in listing and time.monotonic() < deadline:
            listing = httpx.get(f"{base}/mailbox").text
            time.sleep(1)
        assert "【待审核】" in listing
        key = re.search(r'href="/mailbox/([^"/]+)"', listing).group(1)
        message = httpx.get(f"{base}/mailbox/{key}").text
        link = re.search(rf'href="({re.escape(base)}/t/[^"]+)"', message).group(1)
        assert httpx.get(link).status_code == 200

        found = _wait(f"http://127.0.0.1:{prefect}/api/deployments/filter", 120, proc, "POST").json()
        deadline = time.monotonic() + 60
        while len(found) < 2 and time.monotonic() < deadline:
            time.sleep(1)
            found = httpx.post(f"http://127.0.0.1:{prefect}/api/deployments/filter", json={}).json()
        schedules = {d["name"]: [s["schedule"] for s in d["schedules"]] for d in found}
        assert schedules["deliver-outbox"] == [{"cron": "* * * * *", "timezone": "Asia/Shanghai", "day_or": True}]
        assert schedules["sweep-deadlines"][0]["timezone"] == "Asia/Shanghai"
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_stopping_serve_stops_its_prefect_server(db_url, tmp_path):
    web, sink, prefect = free_port(), free_port(), free_port()
    env = {**os.environ, "QCFLOW_DATABASE_URL": db_url, "QCFLOW_DATA_DIR": str(tmp_path / "data"),
           "QCFLOW_WEB_PORT": str(web), "QCFLOW_SINK_PORT": str(sink), "QCFLOW_PREFECT_PORT": str(prefect),
           "PREFECT_HOME": str(tmp_path / "prefect")}
    env.pop("QCFLOW_SMTP_HOST", None)
    env.pop("PREFECT_API_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "qcflow", "serve"], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait(f"http://127.0.0.1:{prefect}/api/health", 90, proc)
    finally:
        proc.terminate()  # SIGTERM, as a service manager stops it
        proc.wait(30)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{prefect}/api/health", timeout=1)
        except httpx.HTTPError:
            return
        time.sleep(0.5)
    raise AssertionError("the Prefect server outlived qcflow serve")
