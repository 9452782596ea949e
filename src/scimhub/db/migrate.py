"""Schema migrations, run programmatically (`scimhub db upgrade` calls `upgrade`).

The Alembic environment lives in the package (`scimhub/db/migrations`), so an installed
wheel carries it; no alembic.ini is needed."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

from scimhub.db.engine import Database, normalize_url

SCRIPT_LOCATION = "scimhub.db:migrations"


def _config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    # ConfigParser interpolation: a literal % in a password must be doubled.
    config.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` (sqlite:// or postgresql://) to `revision`. Creates
    the SQLite file's directory. Runs in one transaction."""
    db = Database(url, pool_size=1)
    try:
        with db.write() as conn:
            config = _config(url)
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
    finally:
        db.dispose()


def current(url: str) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    db = Database(url, pool_size=1)
    try:
        with db.read() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        db.dispose()
