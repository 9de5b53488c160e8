"""Settings from the environment (XINYONG_*), and the secret key kept in ./var/."""

from __future__ import annotations

import os
import secrets
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
        return self.var_dir / "secret.key"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    get_settings.cache_clear()
    _secret.cache_clear()


class SecretKeyMissing(RuntimeError):
    pass


def ensure_secret_key(settings: Settings | None = None) -> bool:
    """Create ./var/secret.key (mode 0600) when no key is configured. Returns True when one was made."""
    settings = settings or get_settings()
    if settings.secret_key or settings.secret_key_path.exists():
        return False
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(settings.secret_key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32) + "\n")
    _secret.cache_clear()
    return True


@lru_cache(maxsize=1)
def _secret() -> bytes:
    settings = get_settings()
    if settings.secret_key:
        return settings.secret_key.encode("utf-8")
    path = settings.secret_key_path
    if not path.exists():
        raise SecretKeyMissing(f"未找到密钥：请先运行 `xinyong init` 生成 {path}，或设置环境变量 XINYONG_SECRET_KEY")
    return path.read_text(encoding="utf-8").strip().encode("utf-8")


def secret_key() -> bytes:
    return _secret()
