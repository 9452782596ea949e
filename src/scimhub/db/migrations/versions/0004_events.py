"""Events and audit: per-tenant settings, the event outbox and feed, subscriber cursors,
webhook endpoints, deliveries and their attempt log, the email queue, the audit log.

Only new tables (no column of an existing table changes). Written by hand to match
`scimhub/db/tables.py` at the time.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.String(36)
TS = sa.DateTime(timezone=True)
PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_DOC = sa.JSON(none_as_null=True).with_variant(
    postgresql.JSONB(none_as_null=True), "postgresql"
)


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], name=f"fk_{table}_tenant", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "tenant_settings",
        sa.Column("tenant_id", ID, primary_key=True),
        sa.Column("event_retention_days", sa.Integer(), nullable=False),
        sa.Column("audit_retention_days", sa.Integer(), nullable=False),
        sa.Column("welcome_email", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("sso_ready_email", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("admin_emails", JSON_DOC, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        _tenant_fk("tenant_settings"),
    )

    op.create_table(
        "events",
        sa.Column("seq", PK, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("resource_key", sa.String(80), nullable=True),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("payload", JSON_DOC, nullable=False),
        sa.Column("feed_seq", sa.BigInteger(), nullable=True),
        _tenant_fk("events"),
        sqlite_autoincrement=True,
    )
    op.create_index("uq_events_id", "events", ["id"], unique=True)
    op.create_index("uq_events_feed_seq", "events", ["feed_seq"], unique=True)
    op.create_index("ix_events_tenant_feed_seq", "events", ["tenant_id", "feed_seq"])
    op.create_index("ix_events_occurred_at", "events", ["occurred_at"])

    op.create_table(
        "event_cursors",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("feed_seq", sa.BigInteger(), nullable=False),
    )

    op.create_table(
        "webhook_endpoints",
        sa.Column("id", ID, primary_key=True),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("url", sa.String(), nullable=False),
        sa.Column("secret", sa.String(100), nullable=False),
        sa.Column("event_types", JSON_DOC, nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("description", sa.String(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(), nullable=True),
        _tenant_fk("webhook_endpoints"),
    )
    op.create_index("ix_webhook_endpoints_tenant", "webhook_endpoints", ["tenant_id"])

    op.create_table(
        "deliveries",
        sa.Column("id", PK, primary_key=True, autoincrement=True),
        sa.Column("endpoint_id", ID, nullable=False),
        sa.Column("event_seq", sa.BigInteger(), nullable=False),
        sa.Column("feed_seq", sa.BigInteger(), nullable=False),
        sa.Column("resource_key", sa.String(80), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("lease_until", TS, nullable=True),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("delivered_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoints.id"],
            name="fk_deliveries_endpoint",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_seq"], ["events.seq"], name="fk_deliveries_event", ondelete="CASCADE"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_deliveries_status_next", "deliveries", ["status", "next_attempt_at"])
    op.create_index(
        "ix_deliveries_chain", "deliveries", ["endpoint_id", "resource_key", "status", "feed_seq"]
    )
    op.create_index("ix_deliveries_event", "deliveries", ["event_seq"])

    op.create_table(
        "delivery_attempts",
        sa.Column("id", PK, primary_key=True, autoincrement=True),
        sa.Column("delivery_id", sa.BigInteger(), nullable=False),
        sa.Column("endpoint_id", ID, nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("attempted_at", TS, nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(), nullable=True),
        sa.Column("worker", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name="fk_delivery_attempts_delivery",
            ondelete="CASCADE",
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_delivery_attempts_endpoint", "delivery_attempts", ["endpoint_id", "id"])
    op.create_index("ix_delivery_attempts_delivery", "delivery_attempts", ["delivery_id"])

    op.create_table(
        "emails",
        sa.Column("id", PK, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("event_id", sa.String(40), nullable=True),
        sa.Column("template", sa.String(40), nullable=False),
        sa.Column("recipient", sa.String(), nullable=False),
        sa.Column("context", JSON_DOC, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("lease_until", TS, nullable=True),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        _tenant_fk("emails"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_emails_status_next", "emails", ["status", "next_attempt_at"])

    op.create_table(
        "audit_log",
        sa.Column("seq", PK, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", ID, nullable=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("provider", sa.String(63), nullable=True),
        sa.Column("actor", sa.String(), nullable=True),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("user_agent", sa.String(), nullable=True),
        sa.Column("operation", sa.String(), nullable=False),
        sa.Column("resource_type", sa.String(16), nullable=True),
        sa.Column("resource_id", sa.String(64), nullable=True),
        sa.Column("before", JSON_DOC, nullable=True),
        sa.Column("after", JSON_DOC, nullable=True),
        sa.Column("outcome", sa.String(8), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(), nullable=True),
        _tenant_fk("audit_log"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_audit_log_tenant_seq", "audit_log", ["tenant_id", "seq"])
    op.create_index("ix_audit_log_tenant_at", "audit_log", ["tenant_id", "at"])
    op.create_index("ix_audit_log_tenant_resource", "audit_log", ["tenant_id", "resource_id"])


def downgrade() -> None:
    for table in (
        "audit_log",
        "emails",
        "delivery_attempts",
        "deliveries",
        "webhook_endpoints",
        "event_cursors",
        "events",
        "tenant_settings",
    ):
        op.drop_table(table)
