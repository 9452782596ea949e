"""The hand-written migrations create exactly `scimhub.db.tables`, and ship in the wheel."""

from __future__ import annotations

import tomllib
from fnmatch import fnmatch
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import scimhub
from scimhub.db import migrate
from scimhub.db.engine import Database
from scimhub.db.tables import metadata

ROOT = Path(__file__).resolve().parents[2]


def test_schema_matches_the_tables(database_url: str) -> None:
    db = Database(database_url)
    try:
        with db.read() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, metadata)
    finally:
        db.dispose()
    assert diff == []
    assert migrate.current(database_url) == "0001"


def test_upgrade_creates_the_directory_and_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/a/b/scimhub.db"
    assert migrate.current(url) is None
    migrate.upgrade(url)
    migrate.upgrade(url)
    assert migrate.current(url) == "0001"


def test_migrations_are_package_data() -> None:
    """Every file Alembic needs at run time goes into the wheel: `.py` files of packages
    (folders with `__init__.py`) as modules, anything else through package-data. (Checked
    by hand too: a built wheel upgrades a database from outside the source tree.)"""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["scimhub"]
    package = Path(scimhub.__file__).parent
    files = [
        p
        for p in (package / "db" / "migrations").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    ]
    names = {p.relative_to(package).as_posix() for p in files}
    assert {"db/migrations/env.py", "db/migrations/script.py.mako"} <= names
    assert "db/migrations/versions/0001_initial.py" in names
    missing = [
        p.relative_to(package).as_posix()
        for p in files
        if not (p.suffix == ".py" and (p.parent / "__init__.py").exists())
        and not any(fnmatch(p.relative_to(package).as_posix(), pat) for pat in patterns)
    ]
    assert missing == []
