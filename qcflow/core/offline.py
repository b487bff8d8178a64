"""No process of qcflow reaches the internet: Prefect's telemetry is switched off before Prefect loads.

These machines have no internet; telemetry would log an error on every start (and leak usage data
where there is internet). Set for this process and inherited by every child (the Prefect server,
workers, flow runs); an explicit value in the environment is respected.
"""
from __future__ import annotations

import os

OFFLINE_ENV = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",  # the server's telemetry service
    "DO_NOT_TRACK": "1",  # the SDK's anonymous usage events (prefect._internal.analytics)
}


def apply() -> None:
    for name, value in OFFLINE_ENV.items():
        os.environ.setdefault(name, value)
