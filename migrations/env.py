from __future__ import annotations

from alembic import context

from xinyong import db_models
from xinyong.core.db import Base, make_engine
from xinyong.core.settings import get_settings

_ = db_models
target_metadata = Base.metadata

# Search index objects (FTS5 table, view and triggers on SQLite; trigram indexes on PostgreSQL) are created by
# xinyong.search.sql.install_search_sql from the migrations, not from the models: autogenerate must not drop them.
SEARCH_OBJECTS = ("subjects_fts", "subjects_search_src", "ix_subjects_name_trgm", "ix_subjects_uscc_trgm")


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    return not (name and name.startswith(SEARCH_OBJECTS))


def run_migrations_offline() -> None:
    context.configure(url=get_settings().database_url, target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=True, include_object=include_object)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = context.config.get_main_option("sqlalchemy.url") or get_settings().database_url
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                          compare_type=True, include_object=include_object)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
