"""Initial schema: tenants, tokens, users (+ email mirror), groups, memberships.

Written by hand to match `scimhub/db/tables.py` at the time; migrations never import the
live table definitions, which move on.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# INTEGER PRIMARY KEY (rowid alias) on SQLite, BIGSERIAL on PostgreSQL.
PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ID = sa.String(36)
# Code point comparison and order on PostgreSQL (SQLite's default BINARY already is).
ID_EXACT = sa.String(36).with_variant(sa.String(36, collation="C"), "postgresql")
EXACT = sa.String().with_variant(sa.String(collation="C"), "postgresql")
TS = sa.DateTime(timezone=True)
JSON_DOC = sa.JSON(none_as_null=True).with_variant(
    postgresql.JSONB(none_as_null=True), "postgresql"
)


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", ID, primary_key=True),
        sa.Column("slug", sa.String(63), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("slug", name="uq_tenants_slug"),
    )
    op.create_table(
        "tokens",
        sa.Column("id", ID, primary_key=True),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("last4", sa.String(4), nullable=False),
        sa.Column("hash", sa.String(128), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=True),
        sa.Column("revoked_at", TS, nullable=True),
        sa.Column("last_used_at", TS, nullable=True),
        sa.Column("use_count", sa.Integer(), nullable=False, server_default="0"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_tokens_tenant", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("hash", name="uq_tokens_hash"),
    )
    op.create_index("ix_tokens_tenant", "tokens", ["tenant_id"])

    op.create_table(
        "users",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("id", ID_EXACT, nullable=False),
        sa.Column("tenant_id", ID_EXACT, nullable=False),
        sa.Column("user_name", sa.String(), nullable=False),
        sa.Column("user_name_ci", EXACT, nullable=False),
        sa.Column("external_id", EXACT, nullable=True),
        sa.Column("display_name", sa.String(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=True),
        sa.Column("created", TS, nullable=False),
        sa.Column("last_modified", TS, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data", JSON_DOC, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_users_tenant", ondelete="CASCADE"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("uq_users_id", "users", ["id"], unique=True)
    op.create_index(
        "uq_users_tenant_user_name_ci", "users", ["tenant_id", "user_name_ci"], unique=True
    )
    op.create_index("ix_users_tenant_external_id", "users", ["tenant_id", "external_id"])
    op.create_index("ix_users_tenant_last_modified", "users", ["tenant_id", "last_modified", "pk"])
    op.create_index("ix_users_tenant_pk", "users", ["tenant_id", "pk"])

    op.create_table(
        "user_emails",
        sa.Column("tenant_id", ID_EXACT, nullable=False),
        sa.Column("user_id", ID_EXACT, nullable=False),
        sa.Column("value", sa.String(), nullable=True),
        sa.Column("value_ci", EXACT, nullable=True),
        sa.Column("type", EXACT, nullable=True),
        sa.Column("primary", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_user_emails_user", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_user_emails_tenant_value_ci", "user_emails", ["tenant_id", "value_ci"])
    op.create_index("ix_user_emails_user", "user_emails", ["user_id"])

    op.create_table(
        "groups",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("id", ID_EXACT, nullable=False),
        sa.Column("tenant_id", ID_EXACT, nullable=False),
        sa.Column("display_name", sa.String(), nullable=False),
        sa.Column("display_name_ci", EXACT, nullable=False),
        sa.Column("external_id", EXACT, nullable=True),
        sa.Column("member_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created", TS, nullable=False),
        sa.Column("last_modified", TS, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data", JSON_DOC, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_groups_tenant", ondelete="CASCADE"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("uq_groups_id", "groups", ["id"], unique=True)
    op.create_index("ix_groups_tenant_display_name_ci", "groups", ["tenant_id", "display_name_ci"])
    op.create_index("ix_groups_tenant_external_id", "groups", ["tenant_id", "external_id"])
    op.create_index(
        "ix_groups_tenant_last_modified", "groups", ["tenant_id", "last_modified", "pk"]
    )
    op.create_index("ix_groups_tenant_pk", "groups", ["tenant_id", "pk"])

    op.create_table(
        "memberships",
        sa.Column("tenant_id", ID_EXACT, nullable=False),
        sa.Column("group_id", ID_EXACT, nullable=False),
        sa.Column("member_id", ID_EXACT, nullable=False),
        sa.Column("member_type", sa.String(5), nullable=False),
        sa.Column("display", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name="fk_memberships_group", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("group_id", "member_id", name="pk_memberships"),
        # Clustered by (group_id, member_id) on SQLite: a group's members are adjacent.
        sqlite_with_rowid=False,
    )
    op.create_index("ix_memberships_member", "memberships", ["member_id"])

    if op.get_bind().dialect.name == "sqlite":
        _sqlite_planner_stats()


# SQLite plans without statistics assume that `tenant_id = ?` is selective, and so scan
# a whole tenant to test `id IN (…emails…)` row by row instead of looking the few ids
# up. These are the statistics ANALYZE would record at the sizes scimhub is built for
# (tenants of ~100,000 users, 1.2 emails per user, groups of ~1,000 members); real ones
# replace them when an operator runs ANALYZE. Format: rows, then rows per distinct
# value of each index prefix (https://sqlite.org/fileformat2.html#stat1tab).
SQLITE_STAT1 = [
    ("users", "uq_users_id", "1000000 1"),
    ("users", "uq_users_tenant_user_name_ci", "1000000 100000 1"),
    ("users", "ix_users_tenant_external_id", "1000000 100000 1"),
    ("users", "ix_users_tenant_last_modified", "1000000 100000 2 1"),
    ("users", "ix_users_tenant_pk", "1000000 100000 1"),
    ("user_emails", "ix_user_emails_tenant_value_ci", "1200000 100000 1"),
    ("user_emails", "ix_user_emails_user", "1200000 1"),
    ("groups", "uq_groups_id", "100000 1"),
    ("groups", "ix_groups_tenant_display_name_ci", "100000 10000 1"),
    ("groups", "ix_groups_tenant_external_id", "100000 10000 1"),
    ("groups", "ix_groups_tenant_last_modified", "100000 10000 1 1"),
    ("groups", "ix_groups_tenant_pk", "100000 10000 1"),
    # A WITHOUT ROWID table's primary key is the table itself.
    ("memberships", "memberships", "5000000 1000 1"),
    ("memberships", "ix_memberships_member", "5000000 5"),
]


def _sqlite_planner_stats() -> None:
    op.execute("ANALYZE")  # creates sqlite_stat1 (empty tables get no rows)
    stat1 = sa.table("sqlite_stat1", sa.column("tbl"), sa.column("idx"), sa.column("stat"))
    op.execute(sa.delete(stat1))
    op.bulk_insert(stat1, [{"tbl": t, "idx": i, "stat": s} for t, i, s in SQLITE_STAT1])


def downgrade() -> None:
    for table in ("memberships", "groups", "user_emails", "users", "tokens", "tenants"):
        op.drop_table(table)
