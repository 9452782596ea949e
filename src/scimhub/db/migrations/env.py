"""Alembic environment. Run through `scimhub.db.migrate` (or `scimhub db upgrade`), which
passes an open connection in `config.attributes["connection"]`; a bare `alembic` run
with `sqlalchemy.url` set works too."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine, pool

from scimhub.db.engine import normalize_url
from scimhub.db.tables import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things: later migrations use batch mode there.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    given = config.attributes.get("connection")
    if given is not None:
        _run(given)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database: set sqlalchemy.url or pass a connection")
    engine = create_engine(normalize_url(url), poolclass=pool.NullPool)
    with engine.begin() as connection:
        _run(connection)


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported")
run_migrations_online()
