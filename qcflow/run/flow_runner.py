"""Run a declared flow by hand: through the Prefect server that `serve` runs (or PREFECT_API_URL), so
the run shows in its UI with its logs; or, only when asked (`local`), in this process.

Never a throwaway server: without a reachable server the command says so and does nothing.
"""
from __future__ import annotations

import inspect
import os
import time
import typing
from typing import Any

from qcflow.core import offline
from qcflow.core.errors import UserError
from qcflow.core.runtime import get_settings
from qcflow.run import deployments

LOG_WAIT_TRIES = 20  # half-seconds
RUN_TIMEOUT_SECONDS = 900  # the command waits this long for the run; the run itself goes on regardless
_TRUE, _FALSE = {"true", "1", "yes", "y", "是"}, {"false", "0", "no", "n", "否", ""}


def api_url() -> str:
    """The Prefect API the runs go to: PREFECT_API_URL, else the one `qcflow serve` starts."""
    return os.environ.get("PREFECT_API_URL") or f"http://127.0.0.1:{get_settings().prefect_port}/api"


def server_reachable(url: str, timeout: float = 2.0) -> bool:
    import httpx  # here, not at the top: it loads rich, and `qcflow` starts on every command

    try:
        return httpx.get(f"{url.rstrip('/')}/health", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def _spec(name: str) -> dict[str, Any]:
    try:
        return deployments.find(name)
    except LookupError as err:
        raise UserError(str(err)) from None


def _typed(name: str, flow, params: dict[str, str]) -> dict[str, Any]:
    """`--param k=v` values as the flow's parameters expect them (a boolean from true/false)."""
    signature = inspect.signature(flow.fn)
    unknown = set(params) - set(signature.parameters)
    if unknown:
        raise UserError(f"流程 {name} 没有参数：{'、'.join(sorted(unknown))}；"
                        f"可用：{'、'.join(sorted(signature.parameters)) or '无'}")
    hints = typing.get_type_hints(flow.fn)
    typed: dict[str, Any] = {}
    for key, value in params.items():
        hint = hints.get(key)
        if hint is bool or bool in typing.get_args(hint):
            lowered = value.strip().lower()
            if lowered not in _TRUE | _FALSE:
                raise UserError(f"参数 {key}=“{value}”无效：应为 true 或 false")
            typed[key] = lowered in _TRUE
        else:
            typed[key] = value
    return typed


def run_flow(name: str, params: dict[str, str], local: bool = False) -> dict[str, Any]:
    """Run the flow declared as `name` in prefect.yaml with these parameters; its result or summary."""
    offline.apply()
    spec = _spec(name)
    if local:
        flow = deployments.load_flow(spec["entrypoint"])
        result = flow(**{**(spec.get("parameters") or {}), **_typed(name, flow, params)})
        return result if isinstance(result, dict) else {"summary": str(result)}
    url = api_url()
    if not server_reachable(url):
        raise UserError(
            f"无法连接 Prefect 服务（{url}），流程 {name} 未运行。请先启动 `qcflow serve`，"
            "或把 PREFECT_API_URL 设为正在运行的 Prefect 服务地址；确需在本进程中运行（不会出现在 Prefect 界面中），"
            "请加 --local。")
    os.environ["PREFECT_API_URL"] = url  # before Prefect reads its settings: never an ephemeral server
    flow = deployments.load_flow(spec["entrypoint"])
    return _run_on_server(name, f"{flow.name}/{spec['name']}", _typed(name, flow, params), url)


def _run_on_server(name: str, deployment: str, params: dict[str, Any], url: str) -> dict[str, Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.deployments import run_deployment
    from prefect.exceptions import ObjectNotFound

    try:
        run = run_deployment(deployment, parameters=params, timeout=RUN_TIMEOUT_SECONDS, poll_interval=1,
                             as_subflow=False)
    except ObjectNotFound:
        raise UserError(f"Prefect 服务（{url}）上没有部署 {deployment}；请用 `qcflow serve` 启动，"
                        "或运行 `prefect --no-prompt deploy --all` 注册 prefect.yaml 中的部署") from None
    ui = url.rstrip("/").removesuffix("/api")
    with get_client(sync_client=True) as client:
        # The run's process ships its logs a moment after its state: read until they stop arriving.
        logs, seen = [], -1
        for _ in range(LOG_WAIT_TRIES):
            logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])))
            if logs and len(logs) == seen:
                break
            seen = len(logs)
            time.sleep(0.5)
    messages = [log.message for log in sorted(logs, key=lambda log: log.timestamp)]
    state = run.state.type.value if run.state else "UNKNOWN"
    finished = run.state is not None and run.state.is_final()
    ok = run.state is not None and run.state.is_completed()
    printed = [m for m in messages if not m.startswith(("Finished in state", "Beginning flow run", "Created task run"))]
    summary = printed[-1] if ok and printed else (
        f"运行状态：{run.state.name if run.state else '未知'}" + ("" if finished else "（仍在运行，稍后在界面中查看）"))
    return {"ok": ok, "finished": finished, "state": state, "flow_run_id": str(run.id),
            "url": f"{ui}/runs/flow-run/{run.id}", "logs": messages, "summary": summary}
