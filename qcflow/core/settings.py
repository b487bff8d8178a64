"""Settings read from QCFLOW_* environment variables."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-only-secret-change-me"
MIN_SECRET_BYTES = 32
SECRET_HOWTO = ('生成一个：python -c "import secrets; print(secrets.token_urlsafe(48))"，'
                "再设置环境变量 QCFLOW_SECRET_KEY=<生成的值>（每次启动都要设置，且不要更换：它签署邮件中的链接）；"
                "仅在本机试用时可设置 QCFLOW_ENV=development 使用开发密钥")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QCFLOW_", extra="ignore")

    # production (the default): a real secret is required; development: the shipped key is allowed
    # (tests, a trial on one's own machine; `qcflow demo` and `serve --demo` run so by themselves)
    env: Literal["production", "development"] = "production"
    data_dir: Path = Path("var")
    database_url: str = ""  # empty: SQLite file in data_dir
    smtp_host: str = ""  # empty: `qcflow serve` runs a local sink
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    # auto: STARTTLS whenever the server offers it; starttls: required; tls: implicit TLS (port 465); none: plain
    smtp_tls: Literal["auto", "starttls", "tls", "none"] = "auto"
    smtp_timeout: float = 10.0
    smtp_ca_file: str = ""  # PEM bundle to verify the mail server's certificate with (empty: the system's)
    smtp_allow_plain_auth: bool = False  # send the SMTP password over an unencrypted connection (never by default)
    mail_from: str = "qcflow@qcflow.local"
    mail_from_name: str = "医疗质控中心管理平台"
    public_base_url: str = "http://127.0.0.1:8000"
    secret_key: str = DEV_SECRET  # signs the links; empty means not set
    patient_hash_key: str = ""  # keys the patient hash (Y§22); empty: derived from secret_key
    timezone: str = "Asia/Shanghai"
    web_host: str = "127.0.0.1"
    web_port: int = 8000
    sink_port: int = 8025
    prefect_port: int = 4200
    link_ttl_days: int = 14
    outbox_batch_size: int = 100
    outbox_max_attempts: int = 5
    outbox_backoff_seconds: int = 60
    outbox_lease_seconds: int = Field(60, ge=10)  # a killed deliverer's mail goes out this long after it claimed it
    outbox_outage_max_backoff_seconds: int = 600  # server unreachable: the queue retries at least this often
    outbox_quota_per_hour: int = Field(0, ge=0)  # mails per hour from the sending domain (0: no limit)
    outbox_quota_per_day: int = Field(0, ge=0)  # mails per 24 hours from the sending domain (0: no limit)
    mail_alert_after_minutes: int = Field(30, ge=0)  # tell the commission once mail has failed this long (0: never)
    fixed_now: str = ""  # ISO moment: the clock stands still there (tests, demos); empty: the system clock
    deliver_after_action: bool = True  # send a page action's emails right away; the flow is the safety net

    @field_validator("env", mode="before")
    @classmethod
    def _old_name_of_development(cls, value: object) -> object:
        return "development" if value in ("local", "dev", "demo") else value

    @field_validator("secret_key", mode="after")
    @classmethod
    def _never_an_empty_key(cls, value: str) -> str:
        return value if value.strip() else DEV_SECRET  # nothing is ever signed with an empty key

    @model_validator(mode="after")
    def _links_point_at_this_server(self) -> "Settings":
        # Unset, the links in mails point at the port this machine serves on (QCFLOW_WEB_PORT).
        if "public_base_url" not in self.model_fields_set:
            self.public_base_url = f"http://127.0.0.1:{self.web_port}"
        return self

    def secret_problems(self) -> list[str]:
        """Why the secrets may not be used here (in Chinese); empty when they may."""
        if self.env == "development":
            return []
        problems = []
        size = len(self.secret_key.strip().encode("utf-8"))
        if self.secret_key == DEV_SECRET:
            problems.append("QCFLOW_SECRET_KEY 未设置或为空：正在使用随软件公开发布的开发密钥，任何人都能伪造邮件中的链接")
        elif size < MIN_SECRET_BYTES:
            problems.append(f"QCFLOW_SECRET_KEY 太短（{size} 字节），至少需要 {MIN_SECRET_BYTES} 字节")
        # No length rule for the patient key: it may be an earlier, shorter secret kept so stored hashes match.
        if self.patient_hash_key.strip() == DEV_SECRET:
            problems.append("QCFLOW_PATIENT_HASH_KEY 是随软件公开发布的开发密钥，患者身份的哈希可被还原（Y§22）")
        return problems

    @property
    def patient_hash_root(self) -> str:
        """What the patient hash's key is derived from: its own key when set, else the link secret
        (as before this setting existed, so hashes already stored still match)."""
        return self.patient_hash_key or self.secret_key

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'qcflow.db').resolve()}"

    @property
    def maildir(self) -> Path:
        return self.data_dir / "mailbox"

