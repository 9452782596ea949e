"""Tenancy: tenant status and SCIM switches, SSO connections, token metadata (creator,
provider binding, imported digests, rotation), admin principals and their keys, and the
provider that created / last changed each user and group.

Written by hand to match `scimhub/db/tables.py` at the time; migrations never import the
live table definitions, which move on. Existing rows get the defaults: tenants stay
active with SCIM included and enabled, tokens are not imported, users and groups have
no provider.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.String(36)
TS = sa.DateTime(timezone=True)
PROVIDER = sa.String(63)


def upgrade() -> None:
    # ADD COLUMN with a default: native on both backends, no table copy. (A copy of
    # `tenants` on SQLite would drop the table every tenant-owned row cascades from.)
    op.add_column(
        "tenants", sa.Column("status", sa.String(16), nullable=False, server_default="active")
    )
    op.add_column(
        "tenants",
        sa.Column("plan_includes_scim", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.add_column(
        "tenants",
        sa.Column("scim_enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
    )

    op.create_table(
        "sso_connections",
        sa.Column("tenant_id", ID, primary_key=True),
        sa.Column("protocol", sa.String(8), nullable=False),
        sa.Column("idp_id", sa.String(), nullable=False),
        sa.Column("metadata_url", sa.String(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_sso_connections_tenant", ondelete="CASCADE"
        ),
    )

    # `last4` becomes nullable (an imported digest has no known characters): SQLite
    # cannot ALTER a column, so batch mode copies the table there (nothing references
    # `tokens`, so dropping the old copy cascades nowhere).
    with op.batch_alter_table("tokens") as batch:
        batch.alter_column("last4", existing_type=sa.String(4), nullable=True)
        batch.add_column(sa.Column("created_by", sa.String(), nullable=True))
        batch.add_column(sa.Column("revoked_by", sa.String(), nullable=True))
        batch.add_column(sa.Column("provider", PROVIDER, nullable=True))
        batch.add_column(
            sa.Column("imported", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("replaced_by", ID, nullable=True))

    op.create_table(
        "admin_principals",
        sa.Column("id", ID, primary_key=True),
        sa.Column("tenant_id", ID, nullable=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("name", sa.String(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_admin_principals_tenant", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_admin_principals_tenant", "admin_principals", ["tenant_id"])

    op.create_table(
        "admin_keys",
        sa.Column("id", ID, primary_key=True),
        sa.Column("principal_id", ID, nullable=False),
        sa.Column("prefix", sa.String(24), nullable=False),
        sa.Column("last4", sa.String(4), nullable=False),
        sa.Column("hash", sa.String(128), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.Column("last_used_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["principal_id"],
            ["admin_principals.id"],
            name="fk_admin_keys_principal",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("hash", name="uq_admin_keys_hash"),
    )
    op.create_index("ix_admin_keys_principal", "admin_keys", ["principal_id"])

    # Nullable columns: a plain ADD COLUMN on both backends (no table copy of users).
    for table in ("users", "groups"):
        op.add_column(table, sa.Column("created_provider", PROVIDER, nullable=True))
        op.add_column(table, sa.Column("updated_provider", PROVIDER, nullable=True))


def _drop_columns(table: str, *columns: str) -> None:
    # Native DROP COLUMN (SQLite 3.35+): a batch copy of `users` or `tenants` on SQLite
    # would drop the table that other tables' rows cascade from.
    for column in columns:
        op.execute(sa.text(f'ALTER TABLE "{table}" DROP COLUMN "{column}"'))


def downgrade() -> None:
    for table in ("groups", "users"):
        _drop_columns(table, "updated_provider", "created_provider")
    op.drop_table("admin_keys")
    op.drop_table("admin_principals")
    # Imported digests have no last4: they cannot survive the downgrade.
    op.execute(sa.text("DELETE FROM tokens WHERE last4 IS NULL"))
    with op.batch_alter_table("tokens") as batch:
        batch.drop_column("replaced_by")
        batch.drop_column("imported")
        batch.drop_column("provider")
        batch.drop_column("revoked_by")
        batch.drop_column("created_by")
        batch.alter_column("last4", existing_type=sa.String(4), nullable=False)
    op.drop_table("sso_connections")
    _drop_columns("tenants", "scim_enabled", "plan_includes_scim", "status")
