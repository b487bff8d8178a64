"""The process's configuration, as the composition root (qcflow.bootstrap) installed it.

One `Runtime` per process: its settings, its clock and the zone dates are shown in. Code below the
entry points reads them from here instead of from the environment, so a test or a script changes
them in one call (`bootstrap.configure`) and nothing is cached behind its back.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from qcflow.core.clock import Clock
    from qcflow.core.settings import Settings


@dataclass
class Runtime:
    settings: "Settings"
    clock: "Clock"
    zone: ZoneInfo
    resources: dict[str, Any] = field(default_factory=dict)  # per-process caches (db engines, calendars)


_current: Optional[Runtime] = None


def install(runtime: Runtime) -> Runtime:
    global _current
    _current = runtime
    return runtime


def installed() -> Optional[Runtime]:
    return _current


def current() -> Runtime:
    if _current is None:
        raise RuntimeError("qcflow is not configured: entry points call qcflow.bootstrap.ensure() first")
    return _current


def get_settings() -> "Settings":
    return current().settings
