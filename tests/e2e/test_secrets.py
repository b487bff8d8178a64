"""Secrets: outside development and the demo, the web server and the CLI start only with a real secret
(≥ 32 bytes, not the shipped development key), and say in Chinese how to set one; the patient hash
has its own key."""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import subprocess
import sys
import time

import httpx
import pytest

from qcflow.core.settings import DEV_SECRET, Settings
from tests.helpers import ROOT, reconfigure
from tests.smtp import free_port

pytestmark = pytest.mark.db

REAL_SECRET = secrets.token_urlsafe(48)


@pytest.fixture
def production_env(db_url, tmp_path) -> dict[str, str]:
    """The environment of a production process: no QCFLOW_ENV, no secret (each test adds its own)."""
    env = {**os.environ, "QCFLOW_DATABASE_URL": db_url, "QCFLOW_DATA_DIR": str(tmp_path / "data")}
    for name in ("QCFLOW_ENV", "QCFLOW_SECRET_KEY", "QCFLOW_PATIENT_HASH_KEY", "QCFLOW_SMTP_HOST"):
        env.pop(name, None)
    return env


def _uvicorn(env: dict[str, str], port: int) -> subprocess.Popen:
    # The README's scaled-out command, as a child process.
    return subprocess.Popen([sys.executable, "-m", "uvicorn", "web.app:app", "--host", "127.0.0.1", "--port", str(port)],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _stop(proc: subprocess.Popen) -> str:
    proc.terminate()
    try:
        out, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out


def _get_when_up(url: str, proc: subprocess.Popen, timeout: float = 60) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read()
        try:
            return httpx.get(url, timeout=2)
        except httpx.HTTPError:
            time.sleep(0.3)
    raise AssertionError(f"{url} not up in {timeout}s")


def test_uvicorn_with_a_real_secret_serves_the_pages(production_env, demo):
    port = free_port()
    proc = _uvicorn({**production_env, "QCFLOW_SECRET_KEY": REAL_SECRET}, port)
    try:
        assert _get_when_up(f"http://127.0.0.1:{port}/health", proc).status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=10).status_code == 200
    finally:
        _stop(proc)


@pytest.mark.parametrize("secret, says", [(None, "未设置或为空"), ("", "未设置或为空"), (DEV_SECRET, "开发密钥"),
                                          ("test-secret", "太短（11 字节）")])
def test_uvicorn_without_a_real_secret_refuses_to_start_and_says_how_to_set_one(production_env, secret, says):
    env = dict(production_env) if secret is None else {**production_env, "QCFLOW_SECRET_KEY": secret}
    proc = _uvicorn(env, free_port())
    try:
        code = proc.wait(60)
    finally:
        out = _stop(proc)
    assert code != 0, out
    assert "密钥不可用，未启动" in out and says in out
    assert 'python -c "import secrets; print(secrets.token_urlsafe(48))"' in out and "QCFLOW_SECRET_KEY=" in out
    assert "Traceback" not in out


def _qcflow(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qcflow", *args], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def test_the_cli_refuses_to_start_without_a_real_secret_unless_in_development(production_env, demo):
    for secret in (None, "", DEV_SECRET, "x" * 31):
        env = dict(production_env) if secret is None else {**production_env, "QCFLOW_SECRET_KEY": secret}
        refused = _qcflow(env, "case", "list", "document")
        assert refused.returncode == 2, (secret, refused.stdout, refused.stderr)
        assert "密钥不可用，未启动" in refused.stderr and "secrets.token_urlsafe(48)" in refused.stderr
        assert "Traceback" not in refused.stderr
    assert _qcflow({**production_env, "QCFLOW_SECRET_KEY": "x" * 32}, "case", "list", "document").returncode == 0
    assert _qcflow({**production_env, "QCFLOW_ENV": "development"}, "case", "list", "document").returncode == 0
    bad = _qcflow({**production_env, "QCFLOW_ENV": "staging"}, "case", "list", "document")
    assert bad.returncode == 2 and "QCFLOW_ENV" in bad.stderr and "Traceback" not in bad.stderr
    for asking in (("inspections", "--help"), ("case", "show", "-h")):  # help reads nothing: no secret needed
        helped = _qcflow(production_env, *asking)
        assert helped.returncode == 0 and "Usage" in helped.stdout and "密钥" not in helped.stderr, helped.stderr


def test_serve_without_demo_refuses_the_development_key_and_serve_demo_starts_without_any(production_env, tmp_path):
    port = free_port()
    env = {**production_env, "QCFLOW_WEB_PORT": str(port), "QCFLOW_SINK_PORT": str(free_port()),
           "PREFECT_HOME": str(tmp_path / "prefect")}
    refused = _qcflow(env, "serve", "--no-prefect")
    assert refused.returncode == 2 and "密钥不可用，未启动" in refused.stderr, refused.stderr

    proc = subprocess.Popen([sys.executable, "-m", "qcflow", "serve", "--demo", "--no-prefect"], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert _get_when_up(f"http://127.0.0.1:{port}/health", proc, 90).status_code == 200
    finally:
        _stop(proc)


# --- the patient hash's key ------------------------------------------------------------------------

def test_the_patient_hash_key_is_not_the_link_key_and_survives_a_new_secret_when_pinned(db_url, monkeypatch):
    from qcflow.services.deaths_import import patient_secret

    old, new = secrets.token_urlsafe(48), secrets.token_urlsafe(48)
    monkeypatch.setenv("QCFLOW_SECRET_KEY", old)
    reconfigure()
    before = patient_secret()
    assert before not in (old.encode(), hashlib.sha256(old.encode()).digest())
    # derived as before this setting existed: hashes stored earlier still match
    assert before == hmac.new(old.encode(), b"qcflow patient key v1", hashlib.sha256).digest()

    monkeypatch.setenv("QCFLOW_SECRET_KEY", new)
    reconfigure()
    assert patient_secret() != before  # a new link secret alone would orphan the stored hashes …
    monkeypatch.setenv("QCFLOW_PATIENT_HASH_KEY", old)
    reconfigure()
    assert patient_secret() == before  # … unless the old one is kept as the patient hash key


def test_secret_problems_in_production_and_development(monkeypatch):
    for name in ("QCFLOW_ENV", "QCFLOW_SECRET_KEY", "QCFLOW_PATIENT_HASH_KEY"):
        monkeypatch.delenv(name, raising=False)
    assert Settings().env == "production" and Settings().secret_problems()
    assert Settings(secret_key="  ").secret_key == DEV_SECRET  # never an empty signing key
    assert Settings(secret_key=REAL_SECRET).secret_problems() == []
    assert "QCFLOW_PATIENT_HASH_KEY" in Settings(secret_key=REAL_SECRET, patient_hash_key=DEV_SECRET).secret_problems()[0]
    assert Settings(secret_key=REAL_SECRET, patient_hash_key="older-short-key").secret_problems() == []
    assert Settings(env="development").secret_problems() == []
    assert Settings(env="local").env == "development"  # the earlier name
