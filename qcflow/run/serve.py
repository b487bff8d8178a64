"""`qcflow serve`: the web pages, a local mail sink when no SMTP host is set, an embedded Prefect
server with its scheduler, and the deployments from prefect.yaml."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import ExitStack

import httpx
import uvicorn

from notifications.sink import MaildirSink
from qcflow import bootstrap
from qcflow.core import offline, runtime
from qcflow.core.runtime import get_settings
from qcflow.run import demo as demo_data
from qcflow.run import deployments
from qcflow.services.mail import deliver_outbox as deliver
from qcflow.store.db import upgrade_schema
from web.app import app


def _wait_for(url: str, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"进程已退出（代码 {proc.returncode}）")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} 在 {timeout:.0f} 秒内未就绪")


def _start_web(host: str, port: int):
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="web", daemon=True)
    thread.start()
    return server


def _die_with_parent() -> None:
    """Linux: the Prefect server child gets SIGTERM if `qcflow serve` dies without cleaning up."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _start_prefect_server(port: int) -> subprocess.Popen:
    # The ephemeral API that Prefect starts on its own runs no scheduler: cron runs never appear.
    env = {**os.environ, **offline.OFFLINE_ENV, "PREFECT_UI_ENABLED": "true"}
    env.pop("PREFECT_API_URL", None)
    return subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                             "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)


_CHILDREN: list[subprocess.Popen] = []


def _stop_on_sigterm() -> None:
    """SIGTERM (a service manager, `kill`) stops the children and exits, whatever startup step runs.

    Raising KeyboardInterrupt instead can be swallowed inside Prefect's startup; open database
    transactions roll back when the process ends."""
    def handler(signum, frame):
        for child in _CHILDREN:
            _stop(child)
        os._exit(0)

    signal.signal(signal.SIGTERM, handler)


def serve(demo: bool = False, with_prefect: bool = True) -> int:
    started = time.monotonic()
    _stop_on_sigterm()
    settings = get_settings()
    if demo:
        bootstrap.enter_demo_mode()
    else:
        bootstrap.require_secrets(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_HOME", str((settings.data_dir / "prefect").resolve()))
    os.environ.update(offline.OFFLINE_ENV)  # the web thread, the served flow runs: no telemetry

    upgrade_schema(settings.effective_database_url)
    if demo:
        demo_data.prepare()
        seeded = demo_data.seed_waiting_document()
        if seeded:
            print(f"演示：已准备一份待审核公文 #{seeded}，审核人的邮件在本地邮箱中。")

    with ExitStack() as stack:
        if not settings.smtp_host:
            sink = stack.enter_context(MaildirSink(settings.maildir, port=settings.sink_port))
            # Everything started from here on (web, flow runs) delivers into the sink.
            os.environ["QCFLOW_SMTP_HOST"] = "127.0.0.1"
            os.environ["QCFLOW_SMTP_PORT"] = str(sink.port)
            os.environ["QCFLOW_SMTP_TLS"] = "none"
            bootstrap.configure(get_settings().model_copy(
                update={"smtp_host": "127.0.0.1", "smtp_port": sink.port, "smtp_tls": "none"}), runtime.current().clock)
            print(f"本地邮件接收：127.0.0.1:{sink.port}，邮件保存在 {settings.maildir}")

        print(f"待发邮件：{deliver().summary()}")  # don't make the first mails wait for the flow's minute

        web = _start_web(settings.web_host, settings.web_port)
        stack.callback(setattr, web, "should_exit", True)
        base = f"http://{settings.web_host}:{settings.web_port}"
        _wait_for(f"{base}/health", 30)
        print(f"网页：{base}/   本地邮箱：{base}/mailbox")

        if not with_prefect:
            print(f"就绪，用时 {time.monotonic() - started:.1f} 秒。按 Ctrl+C 停止。")
            return _idle_with_delivery()

        prefect = _start_prefect_server(settings.prefect_port)
        _CHILDREN.append(prefect)
        stack.callback(_stop, prefect)
        api = f"http://127.0.0.1:{settings.prefect_port}/api"
        try:
            _wait_for(f"{api}/health", 90, prefect)
        except (RuntimeError, TimeoutError) as err:
            tail = prefect.stderr.read().decode(errors="replace")[-2000:] if prefect.poll() is not None else ""
            print(f"Prefect 服务未能启动：{err}\n{tail}", file=sys.stderr)
            return 1
        os.environ["PREFECT_API_URL"] = api
        print(f"Prefect：http://127.0.0.1:{settings.prefect_port}/")

        from prefect import serve as prefect_serve  # here: `import prefect` costs 1.3–1.6 s, --no-prefect skips it

        deps = deployments.build()
        threading.Thread(target=_report_ready, args=(api, [d.name for d in deps], started), daemon=True).start()
        try:
            prefect_serve(*deps, pause_on_shutdown=False, print_starting_message=False)
        except KeyboardInterrupt:
            pass
    return 0


def _report_ready(api: str, names: list[str], started: float) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            found = httpx.post(f"{api}/deployments/filter", json={}, timeout=2).json()
            if {d["name"] for d in found} >= set(names):
                print(f"就绪，用时 {time.monotonic() - started:.1f} 秒：定时流程 {'、'.join(names)} 已注册。按 Ctrl+C 停止。",
                      flush=True)
                return
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            pass
        time.sleep(0.5)
    print("定时流程注册超时，请查看 Prefect 日志", file=sys.stderr)


def _idle_with_delivery() -> int:
    try:
        while True:
            deliver()
            time.sleep(15)
    except KeyboardInterrupt:
        return 0


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
