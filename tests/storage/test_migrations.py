"""The hand-written migrations create exactly `scimhub.db.tables`, ship in the wheel, and
upgrade a database that holds data from an earlier revision (both backends)."""

from __future__ import annotations

import tomllib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from fnmatch import fnmatch
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import bindparam, create_engine, func, insert, select, text, update

import scimhub
from scimhub.db import migrate
from scimhub.db.engine import Database, normalize_url
from scimhub.db.tables import (
    UTCDateTime,
    groups,
    memberships,
    metadata,
    tenants,
    tokens,
    user_emails,
    users,
)
from scimhub.resources.users import UserStore
from scimhub.tenancy.tenants import get_tenant
from scimhub.tenancy.tokens import authenticate, digest, list_tokens

ROOT = Path(__file__).resolve().parents[2]
HEAD = "0005"


def test_schema_matches_the_tables(database_url: str) -> None:
    db = Database(database_url)
    try:
        with db.read() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, metadata)
    finally:
        db.dispose()
    assert diff == []
    assert migrate.current(database_url) == HEAD


def test_upgrade_creates_the_directory_and_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/a/b/scimhub.db"
    assert migrate.current(url) is None
    migrate.upgrade(url)
    migrate.upgrade(url)
    assert migrate.current(url) == HEAD


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
    assert "db/migrations/versions/0002_tenancy.py" in names
    missing = [
        p.relative_to(package).as_posix()
        for p in files
        if not (p.suffix == ".py" and (p.parent / "__init__.py").exists())
        and not any(fnmatch(p.relative_to(package).as_posix(), pat) for pat in patterns)
    ]
    assert missing == []


# -- 0001 → 0002 on a database that holds data ---------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database that was never migrated (the `database_url` fixture's are at head)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    server: str = request.getfixturevalue("pg_server_url")
    name = f"scimhub_mig_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalize_url(f"{server}/postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield f"{server}/{name}"
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


OLD = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
OLD_TOKEN = "scimhub_" + "x" * 43


def _fill_0001(db: Database) -> None:
    """Rows as revision 0001's code wrote them (its columns only)."""
    with db.write() as conn:
        conn.execute(insert(tenants).values(id="t-1", slug="acme", name="Acme", created_at=OLD))
        conn.execute(
            text(
                "INSERT INTO tokens (id, tenant_id, prefix, last4, hash, created_at, use_count)"
                " VALUES ('k-1', 't-1', :prefix, :last4, :hash, :at, 7)"
            ).bindparams(
                bindparam("at", type_=UTCDateTime()),
                prefix=OLD_TOKEN[:12],
                last4=OLD_TOKEN[-4:],
                hash=digest(OLD_TOKEN),
                at=OLD,
            )
        )
        common = {"tenant_id": "t-1", "created": OLD, "last_modified": OLD, "version": 1}
        conn.execute(
            text(
                "INSERT INTO users (id, tenant_id, user_name, user_name_ci, created,"
                " last_modified, version, data) VALUES ('u-1', :tenant_id, 'Ada', 'ada',"
                " :created, :last_modified, :version, :data)"
            ).bindparams(
                bindparam("created", type_=UTCDateTime()),
                bindparam("last_modified", type_=UTCDateTime()),
                bindparam("data", type_=users.c.data.type),
            ),
            {**common, "data": {"userName": "Ada", "emails": [{"value": "ada@example.com"}]}},
        )
        conn.execute(
            insert(user_emails).values(
                tenant_id="t-1", user_id="u-1", value="ada@example.com", value_ci="ada@example.com"
            )
        )
        conn.execute(
            text(
                "INSERT INTO groups (id, tenant_id, display_name, display_name_ci, member_count,"
                " created, last_modified, version, data) VALUES ('g-1', :tenant_id, 'Eng',"
                " 'eng', 1, :created, :last_modified, :version, :data)"
            ).bindparams(
                bindparam("created", type_=UTCDateTime()),
                bindparam("last_modified", type_=UTCDateTime()),
                bindparam("data", type_=groups.c.data.type),
            ),
            {**common, "data": {"displayName": "Eng"}},
        )
        conn.execute(
            insert(memberships).values(
                tenant_id="t-1", group_id="g-1", member_id="u-1", member_type="User"
            )
        )


def test_0002_upgrades_a_database_with_data(empty_database_url: str) -> None:
    url = empty_database_url
    migrate.upgrade(url, "0001")
    assert migrate.current(url) == "0001"
    db = Database(url)
    try:
        _fill_0001(db)
        migrate.upgrade(url)
        assert migrate.current(url) == HEAD
        with db.read() as conn:
            # The schema is exactly the tables', as on a fresh database.
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
            tenant = get_tenant(conn, "acme")
            assert tenant is not None
            assert (tenant.status, tenant.plan_includes_scim, tenant.scim_enabled) == (
                "active",
                True,
                True,
            )
            assert tenant.created_at == OLD
            # The old token still authenticates and keeps its listing data.
            found = authenticate(conn, "acme", OLD_TOKEN)
            assert found is not None and found.token_id == "k-1" and found.sso is None
            [info] = list_tokens(conn, "t-1")
            assert (info.prefix, info.last4, info.use_count) == (OLD_TOKEN[:12], "xxxx", 7)
            assert (info.imported, info.provider, info.created_by, info.revoked) == (
                False,
                None,
                None,
                False,
            )
            # Users, their email mirror, groups and memberships survived the table copies.
            rows = conn.execute(
                select(users.c.id, users.c.created_provider, users.c.updated_provider)
            ).all()
            assert [tuple(r) for r in rows] == [("u-1", None, None)]
            assert conn.execute(select(func.count()).select_from(user_emails)).scalar() == 1
            assert conn.execute(select(func.count()).select_from(memberships)).scalar() == 1
            group = conn.execute(select(groups.c.member_count, groups.c.created_provider)).one()
            assert tuple(group) == (1, None)
            user = UserStore(db.dialect).get(conn, "t-1", "u-1", related=True)
            assert user is not None and user.data["userName"] == "Ada"
            assert [g["value"] for g in user.groups or []] == ["g-1"]
        # The new columns take writes: an imported digest has no last4.
        with db.write() as conn:
            conn.execute(update(tenants).values(status="suspended"))
            conn.execute(
                insert(tokens).values(
                    id="k-2",
                    tenant_id="t-1",
                    prefix="sha512:abcdef01",
                    last4=None,
                    hash="ab" * 64,
                    created_at=OLD,
                    imported=True,
                    provider="okta",
                )
            )
        with db.read() as conn:
            assert [t.imported for t in list_tokens(conn, "t-1")] == [False, True]
    finally:
        db.dispose()


def test_0002_downgrades_and_upgrades_again(empty_database_url: str) -> None:
    url = empty_database_url
    migrate.upgrade(url, "0001")
    db = Database(url)
    try:
        _fill_0001(db)
        migrate.upgrade(url)
        config = migrate._config(url)
        with db.write() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "0001")
        assert migrate.current(url) == "0001"
        with db.read() as conn:
            assert conn.execute(select(func.count()).select_from(user_emails)).scalar() == 1
            assert conn.execute(select(func.count()).select_from(memberships)).scalar() == 1
            assert conn.execute(text("SELECT use_count FROM tokens")).scalar() == 7
        migrate.upgrade(url)
        with db.read() as conn:
            assert authenticate(conn, "acme", OLD_TOKEN) is not None
    finally:
        db.dispose()


def test_0005_keeps_the_outbox_working(empty_database_url: str) -> None:
    # Events published and unpublished under 0004 stay in the feed and the queue.
    from scimhub.db.tables import events
    from scimhub.events.dispatch import dispatch
    from scimhub.events.feed import read_feed
    from scimhub.settings import Settings

    url = empty_database_url
    migrate.upgrade(url, "0004")
    db = Database(url)
    try:
        with db.write() as conn:
            conn.execute(insert(tenants).values(id="t-1", slug="acme", name="Acme", created_at=OLD))
            for seq, feed_seq in ((1, 1), (2, 2), (3, None), (4, None)):
                conn.execute(
                    insert(events).values(
                        seq=seq,
                        id=f"evt_{seq}",
                        tenant_id="t-1",
                        type="user.created",
                        resource_key=f"User:{seq}",
                        occurred_at=OLD,
                        payload={"id": f"evt_{seq}"},
                        feed_seq=feed_seq,
                    )
                )
        migrate.upgrade(url)
        assert migrate.current(url) == HEAD
        assert dispatch(db, Settings(database_url=url)) == 2
        with db.read() as conn:
            feed, cursor = read_feed(conn, "t-1", 0, 10)
        assert [(e["id"], e["sequence"]) for e in feed] == [
            ("evt_1", 1),
            ("evt_2", 2),
            ("evt_3", 3),
            ("evt_4", 4),
        ]
        assert cursor == 4
        config = migrate._config(url)
        with db.write() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "0004")
        assert migrate.current(url) == "0004"
        migrate.upgrade(url)
        with db.read() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
    finally:
        db.dispose()
