"""Run a declared flow by hand, in this process, with parameters."""
from __future__ import annotations

import inspect
from typing import Any

from qcflow.run import deployments
from qcflow.core.errors import UserError


def run_flow(name: str, params: dict[str, str]) -> dict[str, Any]:
    try:
        spec = deployments.find(name)
    except LookupError as err:
        raise UserError(str(err)) from None
    flow = deployments.load_flow(spec["entrypoint"])
    accepted = set(inspect.signature(flow.fn).parameters)
    unknown = set(params) - accepted
    if unknown:
        raise UserError(f"流程 {name} 没有参数：{'、'.join(sorted(unknown))}；可用：{'、'.join(sorted(accepted)) or '无'}")
    result = flow(**{**(spec.get("parameters") or {}), **params})
    return result if isinstance(result, dict) else {"summary": str(result)}
