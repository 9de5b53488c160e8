"""Schema management through Alembic; the migrations directory sits at the repository root."""

from __future__ import annotations

import logging

logging.getLogger("alembic").setLevel(logging.WARNING)

from alembic import command  # noqa: E402
from alembic.config import Config  # noqa: E402

from xinyong.core.settings import REPO_ROOT, get_settings  # noqa: E402

# Objects the migrations create with raw DDL (the search index: FTS5 table, view and triggers on SQLite,
# trigram indexes on PostgreSQL) and that the models therefore do not describe; autogenerate must skip them.
UNMANAGED_PREFIXES = ("subjects_fts", "subjects_search_src", "ix_subjects_name_trgm", "ix_subjects_uscc_trgm")


def is_managed(name: str | None) -> bool:
    return not (name and name.startswith(UNMANAGED_PREFIXES))


def alembic_config() -> Config:
    cfg = Config(str(REPO_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(REPO_ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", get_settings().database_url.replace("%", "%%"))
    return cfg


def upgrade(revision: str = "head") -> None:
    command.upgrade(alembic_config(), revision)
