"""Schema management through Alembic; the migrations directory sits at the repository root."""

from __future__ import annotations

import logging

from alembic import command
from alembic.config import Config

from xinyong.core.settings import REPO_ROOT, get_settings


def alembic_config() -> Config:
    cfg = Config(str(REPO_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(REPO_ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", get_settings().database_url.replace("%", "%%"))
    return cfg


def upgrade() -> None:
    logging.getLogger("alembic").setLevel(logging.WARNING)
    command.upgrade(alembic_config(), "head")
