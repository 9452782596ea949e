"""The provisioning lifecycle: per-tenant policies, verified domains, roles and hand-made
grants, app-side account state, the record of links, and retained (deprovisioned)
accounts.

New tables only: no existing table changes, so this revision merges cleanly with any
other that adds columns to the SCIM tables. Written by hand to match
`scimhub/db/tables.py` at the time.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

TS = sa.DateTime(timezone=True)
ID = sa.String(36)
ID_EXACT = sa.String(36).with_variant(sa.String(36, collation="C"), "postgresql")
EXACT = sa.String().with_variant(sa.String(collation="C"), "postgresql")
JSON_DOC = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
PROVIDER = sa.String(63)
PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "lifecycle_policies",
        sa.Column("tenant_id", ID, primary_key=True),
        sa.Column("delete_policy", sa.String(16), nullable=False, server_default="deprovision"),
        sa.Column("retention_days", sa.Integer(), nullable=False, server_default="30"),
        sa.Column("linking_policy", sa.String(8), nullable=False, server_default="link"),
        sa.Column("default_role_key", EXACT, nullable=True),
        sa.Column("first_sync_done", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_lifecycle_policies_tenant", ondelete="CASCADE"
        ),
    )
    op.create_table(
        "verified_domains",
        sa.Column("tenant_id", ID_EXACT, nullable=False),
        sa.Column("domain", EXACT, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "domain", name="pk_verified_domains"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_verified_domains_tenant", ondelete="CASCADE"
        ),
    )
    op.create_table(
        "roles",
        sa.Column("id", ID_EXACT, primary_key=True),
        sa.Column("tenant_id", ID_EXACT, nullable=False),
        sa.Column("key", EXACT, nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("external_id", EXACT, nullable=True),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("privileged", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("group_id", ID_EXACT, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_roles_tenant", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("tenant_id", "key", name="uq_roles_tenant_key"),
    )
    op.create_index("ix_roles_tenant_external_id", "roles", ["tenant_id", "external_id"])
    op.create_index("uq_roles_group", "roles", ["group_id"], unique=True)
    op.create_table(
        "role_grants",
        sa.Column("tenant_id", ID_EXACT, nullable=False),
        sa.Column("user_id", ID_EXACT, nullable=False),
        sa.Column("role_id", ID_EXACT, nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("granted_at", TS, nullable=False),
        sa.Column("granted_by", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("user_id", "role_id", name="pk_role_grants"),
        sa.ForeignKeyConstraint(
            ["role_id"], ["roles.id"], name="fk_role_grants_role", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_role_grants_role", "role_grants", ["role_id"])
    op.create_table(
        "account_states",
        sa.Column("user_id", ID_EXACT, primary_key=True),
        sa.Column("tenant_id", ID_EXACT, nullable=False),
        sa.Column("sessions_revoked_at", TS, nullable=True),
        sa.Column("app_created", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("linked_at", TS, nullable=True),
        sa.Column("app_attributes", JSON_DOC, nullable=True),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_account_states_tenant", "account_states", ["tenant_id"])
    op.create_table(
        "account_links",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", ID_EXACT, nullable=False),
        sa.Column("user_id", ID_EXACT, nullable=False),
        sa.Column("matched_by", sa.String(16), nullable=False),
        sa.Column("target", sa.String(8), nullable=False),
        sa.Column("provider", PROVIDER, nullable=True),
        sa.Column("actor", sa.String(), nullable=True),
        sa.Column("linked_at", TS, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_account_links_tenant_user", "account_links", ["tenant_id", "user_id"])
    op.create_table(
        "retained_users",
        sa.Column("id", ID_EXACT, primary_key=True),
        sa.Column("tenant_id", ID_EXACT, nullable=False),
        sa.Column("user_name_ci", EXACT, nullable=False),
        sa.Column("external_id", EXACT, nullable=True),
        sa.Column("provider", PROVIDER, nullable=True),
        sa.Column("created", TS, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data", JSON_DOC, nullable=False),
        sa.Column("created_provider", PROVIDER, nullable=True),
        sa.Column("group_ids", JSON_DOC, nullable=False),
        sa.Column("deleted_at", TS, nullable=False),
        sa.Column("deleted_by", sa.String(), nullable=True),
    )
    op.create_index(
        "ix_retained_users_tenant_user_name_ci", "retained_users", ["tenant_id", "user_name_ci"]
    )
    op.create_index(
        "ix_retained_users_tenant_external_id", "retained_users", ["tenant_id", "external_id"]
    )
    op.create_index("ix_retained_users_deleted_at", "retained_users", ["deleted_at"])
    op.create_table(
        "retained_emails",
        sa.Column("tenant_id", ID_EXACT, nullable=False),
        sa.Column("user_id", ID_EXACT, nullable=False),
        sa.Column("value_ci", EXACT, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["retained_users.id"], name="fk_retained_emails_user", ondelete="CASCADE"
        ),
    )
    op.create_index(
        "ix_retained_emails_tenant_value_ci", "retained_emails", ["tenant_id", "value_ci"]
    )
    op.create_index("ix_retained_emails_user", "retained_emails", ["user_id"])


def downgrade() -> None:
    for table in (
        "retained_emails",
        "retained_users",
        "account_links",
        "account_states",
        "role_grants",
        "roles",
        "verified_domains",
        "lifecycle_policies",
    ):
        op.drop_table(table)
