"""What delivery needs to know, as a protocol: the application's settings object satisfies it."""
from __future__ import annotations

from typing import Protocol


class MailSettings(Protocol):
    mail_from: str
    mail_from_name: str
    smtp_host: str
    smtp_port: int
    smtp_user: str
    smtp_password: str
    smtp_tls: str
    smtp_timeout: float
    smtp_ca_file: str
    smtp_allow_plain_auth: bool
    sink_port: int
    outbox_batch_size: int
    outbox_max_attempts: int
    outbox_backoff_seconds: int
    outbox_lease_seconds: int
    outbox_outage_max_backoff_seconds: int
    outbox_quota_per_hour: int
    outbox_quota_per_day: int
