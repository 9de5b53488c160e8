from __future__ import annotations

from alembic import context

from xinyong import db_models
from xinyong.core.db import Base, make_engine
from xinyong.core.migrate import is_managed
from xinyong.core.settings import get_settings

_ = db_models
target_metadata = Base.metadata



def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    return is_managed(name)


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
