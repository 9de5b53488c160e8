"""No tables of its own: attaches the search index DDL (pg_trgm / FTS5 trigram) to the subjects table.

Imported by xinyong.db_models so that Base.metadata.create_all builds the index with the table.
"""

from xinyong.search.sql import install_search_sql, register_ddl_events, uninstall_search_sql

register_ddl_events()

__all__ = ["install_search_sql", "uninstall_search_sql"]
