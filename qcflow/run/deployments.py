"""Build the served deployments from prefect.yaml, the one source of truth for schedules."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

PREFECT_YAML = Path(__file__).resolve().parents[2] / "prefect.yaml"


def declared(path: Path = PREFECT_YAML) -> list[dict[str, Any]]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["deployments"]


def load_flow(entrypoint: str, root: Path = PREFECT_YAML.parent):
    from prefect.flows import load_flow_from_entrypoint

    file, _, name = entrypoint.partition(":")
    return load_flow_from_entrypoint(f"{root / file}:{name}")


def build(path: Path = PREFECT_YAML) -> list:
    from prefect.schedules import Cron

    deployments = []
    for spec in declared(path):
        flow = load_flow(spec["entrypoint"], path.parent)
        deployments.append(flow.to_deployment(
            name=spec["name"],
            description=spec.get("description"),
            tags=spec.get("tags") or [],
            parameters=spec.get("parameters") or {},
            schedules=[Cron(s["cron"], timezone=s["timezone"]) for s in spec.get("schedules") or []],
        ))
    return deployments


def find(name: str, path: Path = PREFECT_YAML) -> dict[str, Any]:
    for spec in declared(path):
        if spec["name"] == name:
            return spec
    names = "、".join(s["name"] for s in declared(path))
    raise LookupError(f"没有名为“{name}”的流程；可用：{names}")
