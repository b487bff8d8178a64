"""Deliver the outbox with the process's database, settings and clock."""
from __future__ import annotations

from typing import Optional

from notifications import delivery
from notifications.delivery import DeliveryReport
from qcflow.core.clock import utcnow
from qcflow.core.runtime import get_settings
from qcflow.core.settings import Settings
from qcflow.store.db import get_engine


def deliver_outbox(settings: Optional[Settings] = None) -> DeliveryReport:
    return delivery.deliver(get_engine(), settings or get_settings(), utcnow)
