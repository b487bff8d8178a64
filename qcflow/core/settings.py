"""Settings read from QCFLOW_* environment variables."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-only-secret-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QCFLOW_", extra="ignore")

    env: Literal["local", "production"] = "local"
    data_dir: Path = Path("var")
    database_url: str = ""  # empty: SQLite file in data_dir
    smtp_host: str = ""  # empty: `qcflow serve` runs a local sink
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_tls: Literal["none", "starttls", "tls"] = "none"
    smtp_timeout: float = 10.0
    mail_from: str = "qcflow@qcflow.local"
    mail_from_name: str = "医疗质控中心管理平台"
    public_base_url: str = "http://127.0.0.1:8000"
    secret_key: str = DEV_SECRET
    timezone: str = "Asia/Shanghai"
    web_host: str = "127.0.0.1"
    web_port: int = 8000
    sink_port: int = 8025
    prefect_port: int = 4200
    link_ttl_days: int = 14
    outbox_batch_size: int = 100
    outbox_max_attempts: int = 5
    outbox_backoff_seconds: int = 60
    fixed_now: str = ""  # ISO moment: the clock stands still there (tests, demos); empty: the system clock
    deliver_after_action: bool = True  # send a page action's emails right away; the flow is the safety net

    @model_validator(mode="after")
    def _refuse_dev_secret_in_production(self) -> "Settings":
        if self.env == "production" and self.secret_key == DEV_SECRET:
            raise ValueError("生产环境必须设置 QCFLOW_SECRET_KEY")
        return self

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'qcflow.db').resolve()}"

    @property
    def maildir(self) -> Path:
        return self.data_dir / "mailbox"

