"""Settings from the environment (XINYONG_*). The key file lives outside the data directory (core/keyring.py)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[3]


def _default_config_dir() -> Path:
    here = Path.cwd() / "config"
    if (here / "catalog").is_dir():
        return here
    return REPO_ROOT / "config"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="XINYONG_", extra="ignore")

    database_url: str = "sqlite:///./var/xinyong.db"
    secret_key: str | None = None
    var_dir: Path = Path("./var")
    config_dir: Path = _default_config_dir()
    max_upload_mb: int = 200
    issuer: str = "xinyong 公共信用信息平台（演示城市）"
    base_url: str = "http://127.0.0.1:8000"
    log_level: str = "INFO"
    run_scheduler: bool = False  # `xinyong serve` turns it on
    # The master key file: outside var/ (where the SQLite file and attachments are), so a copy of the data
    # directory or a database backup does not carry the key that opens it.
    key_file: Path = Path("./keys/secret.key")
    # Where the audit chain's head is witnessed: an append-only file outside the database.
    audit_witness_dir: Path = Path("./audit-witness")
    audit_witness_every: int = 100  # write the head to the witness every N events (and on `audit anchor`)
    # Cookies marked Secure and HSTS sent; on by itself when base_url is https.
    secure_cookies: bool = False
    # Where rate limits count (a `limits` storage URI): memory:// counts per process.
    rate_limit_storage: str = "memory://"
    # Inner networks webhooks may reach (CIDR, comma-separated), e.g. a government intranet's department
    # segment; every other loopback, private, link-local or reserved address is refused.
    webhook_allow_networks: str = ""

    @field_validator("database_url")
    @classmethod
    def _normalise_url(cls, value: str) -> str:
        # Operators paste plain libpq URLs; SQLAlchemy needs the driver named.
        for prefix in ("postgresql://", "postgres://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix) :]
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def cookies_secure(self) -> bool:
        return self.secure_cookies or self.base_url.lower().startswith("https://")

    @property
    def secret_key_path(self) -> Path:
        return self.key_file

    @property
    def legacy_key_path(self) -> Path:
        """Where versions before the key file setting kept the key: beside the SQLite file."""
        return self.var_dir / "secret.key"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    get_settings.cache_clear()
    from xinyong.core import keyring  # the key file is read through settings; drop both caches together

    keyring.clear_cache()


class SecretKeyMissing(RuntimeError):
    """No usable key: the message says how to get one (init, XINYONG_KEY_FILE, a backup)."""
