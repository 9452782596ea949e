"""Bulk loading straight into the tables: 1,000,000 users over HTTP would take too long.

Users are built with the same code the store runs on a POST: `normalize` for the data
dict, then `scimhub.resources.users._columns` / `email_rows` for the `users` and
`user_emails` rows (private helpers, reused so the rows cannot drift from the store's;
`verify.py` also compares a loaded row with one the server wrote). Rows go in with
SQLAlchemy Core executemany on SQLite and COPY on PostgreSQL. Groups are created with
`GroupStore.insert` itself (memberships rows and member_count).

User i has userName `user{i:07d}@example.com` and a uuid4-shaped id derived from i, so
the load generator can name any user without holding a million ids."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from scimhub.db.engine import Database
from scimhub.db.migrate import upgrade
from scimhub.db.tables import user_emails, users
from scimhub.resources.groups import GroupStore
from scimhub.resources.users import _columns, email_rows
from scimhub.scim.resource import normalize
from scimhub.scim.schema import GROUP, GROUP_URN, USER, USER_URN
from scimhub.tenancy.tenants import create_tenant
from scimhub.tenancy.tokens import create_token

TENANT = "bench"
BATCH = 10_000


def user_name(i: int) -> str:
    return f"user{i:07d}@example.com"


def user_id(i: int) -> str:
    digest = hashlib.blake2b(f"scimhub-bench:{i}".encode(), digest_size=16).digest()
    return str(uuid.UUID(int=int.from_bytes(digest, "big"), version=4))


def user_body(i: int, name: str | None = None) -> dict[str, Any]:
    """What an IdP (Entra, Okta) sends for a user."""
    name = name or user_name(i)
    return {
        "schemas": [USER_URN],
        "userName": name,
        "externalId": f"ext-{i:07d}",
        "active": True,
        "displayName": f"User {i}",
        "name": {"givenName": "User", "familyName": f"{i:07d}"},
        "emails": [{"value": name, "type": "work", "primary": True}],
    }


def user_rows(
    tenant_id: str, i: int, moment: datetime
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The `users` row and `user_emails` rows UserStore.insert writes for user_body(i)."""
    data = normalize(USER, user_body(i))
    id = user_id(i)
    row = {
        "id": id,
        "tenant_id": tenant_id,
        "created": moment,
        "last_modified": moment,
        "version": 1,
        **_columns(data),
    }
    return row, email_rows(tenant_id, id, data)


@dataclass(slots=True)
class Dataset:
    url: str
    users: int
    token: str = ""
    tenant_id: str = ""
    groups: dict[str, str] = field(default_factory=dict)  # name → group id
    group_members: dict[str, range] = field(default_factory=dict)  # name → user indexes
    seconds: dict[str, float] = field(default_factory=dict)  # load step → seconds


def _batches(tenant_id: str, count: int) -> Iterator[tuple[list[Any], list[Any]]]:
    start = datetime.now(UTC)
    for first in range(0, count, BATCH):
        rows, emails = [], []
        for i in range(first, min(count, first + BATCH)):
            # Distinct timestamps, as one-by-one creation would give.
            row, email_rows = user_rows(tenant_id, i, start + timedelta(microseconds=i))
            rows.append(row)
            emails.extend(email_rows)
        yield rows, emails


def _load_sqlite(db: Database, tenant_id: str, count: int) -> None:
    for rows, emails in _batches(tenant_id, count):
        with db.write() as conn:
            conn.execute(sa.insert(users), rows)
            if emails:
                conn.execute(sa.insert(user_emails), emails)


_USER_COLUMNS = [
    *("id", "tenant_id", "created", "last_modified", "version", "user_name", "user_name_ci"),
    *("external_id", "display_name", "active", "data"),
]
_EMAIL_COLUMNS = ["tenant_id", "user_id", "value", "value_ci", "type", "primary"]


def _copy_sql(table: str, columns: list[str]) -> str:
    quoted = ", ".join(f'"{c}"' for c in columns)  # "primary" is a reserved word
    return f"COPY {table} ({quoted}) FROM STDIN"


def _load_postgresql(db: Database, tenant_id: str, count: int) -> None:
    with db.write() as conn:
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        for rows, emails in _batches(tenant_id, count):
            with cursor.copy(_copy_sql("users", _USER_COLUMNS)) as copy:
                for row in rows:
                    values = [row[c] for c in _USER_COLUMNS]
                    values[-1] = json.dumps(values[-1])  # data: text into jsonb
                    copy.write_row(values)
            with cursor.copy(_copy_sql("user_emails", _EMAIL_COLUMNS)) as copy:
                for email in emails:
                    copy.write_row([email[c] for c in _EMAIL_COLUMNS])


def _create_group(conn: Connection, dialect: str, tenant_id: str, name: str, users: range) -> str:
    """As the service's POST /Groups does: normalize, then GroupStore.insert."""
    body = {
        "schemas": [GROUP_URN],
        "displayName": name,
        "members": [{"value": user_id(i)} for i in users],
    }
    data = normalize(GROUP, body)
    members = data.pop("members", None) or []
    return GroupStore(dialect).insert(conn, tenant_id, data, members).id


def _activate_sso(conn: Connection, tenant_id: str) -> None:
    """SCIM is served only to a tenant whose SSO connection is active (by default): give
    the tenant one, as an operator would. Versions without SSO gates have nothing to do."""
    try:
        from scimhub.tenancy import sso
    except ImportError:
        return
    sso.set_connection(conn, tenant_id, protocol="saml", idp_id="https://idp.bench.invalid")
    sso.set_state(conn, tenant_id, "active")


def prepare(url: str, count: int, groups: dict[str, range]) -> Dataset:
    """Migrate an empty database, create the tenant and a token, load `count` users and
    the groups (name → the user indexes that are its members)."""
    dataset = Dataset(url, count, group_members=dict(groups))
    upgrade(url)
    db = Database(url, pool_size=1)
    try:
        with db.write() as conn:
            tenant = create_tenant(conn, TENANT, "Benchmark")
            _activate_sso(conn, tenant.id)
            dataset.token = create_token(conn, tenant.id)
        dataset.tenant_id = tenant.id
        started = time.perf_counter()
        (_load_postgresql if db.dialect == "postgresql" else _load_sqlite)(db, tenant.id, count)
        dataset.seconds["users"] = time.perf_counter() - started
        started = time.perf_counter()
        with db.write() as conn:
            for name, members in groups.items():
                dataset.groups[name] = _create_group(conn, db.dialect, tenant.id, name, members)
        dataset.seconds["groups"] = time.perf_counter() - started
        if db.dialect == "postgresql":
            # What autovacuum does after a bulk insert: statistics and the visibility map.
            started = time.perf_counter()
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("VACUUM ANALYZE"))
            dataset.seconds["vacuum analyze"] = time.perf_counter() - started
    finally:
        db.dispose()
    return dataset
