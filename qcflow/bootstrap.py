"""The composition root: settings, the clock and the use cases, wired once per process.

The CLI, the web app, the flows and the tests call `ensure()` or `configure()`; nothing below them
reads the environment or the wall clock on its own.
"""
from __future__ import annotations

import os
from datetime import datetime
from typing import Optional
from zoneinfo import ZoneInfo

from pydantic import ValidationError

import qcflow.services  # noqa: F401  (registers the engine's plug-ins: facts, effects)
from qcflow.core import offline, runtime
from qcflow.core.clock import Clock, FixedClock, SystemClock
from qcflow.core.errors import UserError
from qcflow.core.runtime import Runtime
from qcflow.core.settings import SECRET_HOWTO, Settings

offline.apply()  # before any entry point gets to import Prefect


def clock_for(settings: Settings) -> Clock:
    if not settings.fixed_now:
        return SystemClock()
    try:
        moment = datetime.fromisoformat(settings.fixed_now)
    except ValueError:
        raise UserError(f"QCFLOW_FIXED_NOW“{settings.fixed_now}”不是有效的时刻（例如 2026-06-15T09:00+08:00）") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(settings.timezone))
    return FixedClock(moment)


def build(settings: Optional[Settings] = None, clock: Optional[Clock] = None) -> Runtime:
    settings = settings or Settings()
    return Runtime(settings=settings, clock=clock or clock_for(settings), zone=ZoneInfo(settings.timezone))


def configure(settings: Optional[Settings] = None, clock: Optional[Clock] = None) -> Runtime:
    """Install a new runtime (the previous one's database connections are closed)."""
    close()
    return runtime.install(build(settings, clock))


def ensure(demo: bool = False) -> Runtime:
    """The installed runtime, or one built from the QCFLOW_* environment: refused (UserError) when
    its secrets may not be used, unless this process runs the demo."""
    installed = runtime.installed()
    if installed is not None:
        return installed
    settings = settings_from_environment()
    if not demo:
        require_secrets(settings)
    return configure(settings)


def settings_from_environment() -> Settings:
    try:
        return Settings()
    except ValidationError as err:
        faults = "；".join(f"QCFLOW_{'_'.join(str(p) for p in e['loc']).upper()}：{e['msg']}" for e in err.errors())
        raise UserError(f"设置有误，未启动：{faults}") from None


def require_secrets(settings: Settings) -> None:
    """Outside development and the demo, a real secret or nothing starts (links forged with the
    published development key would act for anyone)."""
    problems = settings.secret_problems()
    if problems:
        raise UserError("密钥不可用，未启动：" + "；".join(problems) + "。" + SECRET_HOWTO)


def enter_demo_mode() -> None:
    """The demo's own children (flow runs started by `serve --demo`) may use the development key too."""
    os.environ["QCFLOW_ENV"] = "development"


def close() -> None:
    previous = runtime.installed()
    if previous is not None:
        for resource in previous.resources.values():
            dispose = getattr(resource, "dispose", None)
            if dispose:
                dispose()
        previous.resources.clear()
