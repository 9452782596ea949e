"""The SQL schema (SQLAlchemy Core). The hand-written revisions in
`db/migrations/versions/` (0001 initial, 0002 tenancy, 0003 lifecycle,
0004 events) create the same tables;
`tests/storage/test_migrations.py` checks that the two agree.

Choices (see docs/architecture.md, "Storage"):
- Rows are joined by their string `id` (a UUID): it is what the protocol names, so a
  member PATCH or a filter on `members.value` needs no id → pk translation. `pk` is a
  surrogate integer only for insertion order, index paging and keyset cursors.
- `*_ci` columns hold the value folded in Python (`str.lower`), so case-insensitive
  equality is an index lookup and the folding is the same on SQLite and PostgreSQL.
- On PostgreSQL the columns that are compared or sorted as-is use the "C" collation:
  code point order, the same as Python and SQLite (RFC 7644 §3.4.2.3 asks for "Unicode
  alphabetic sort order with no specific locale implied")."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB


class UTCDateTime(TypeDecorator[datetime]):
    """A UTC instant with microseconds: `timestamptz` on PostgreSQL; on SQLite a fixed
    width `YYYY-MM-DD HH:MM:SS.ffffff` text in UTC, so text order is time order.
    Naive datetimes given to it are taken as UTC; results are always tz-aware UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Dialect) -> Any:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        # The same text as process_bind_param and SQLite's DATETIME give, in one C call
        # instead of two Python steps: every write binds several instants.
        def to_text(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is not None and value.tzinfo is not UTC:
                value = value.astimezone(UTC)
            return value.isoformat(" ", "microseconds")[:26]

        return to_text

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _pk() -> Any:
    # INTEGER PRIMARY KEY (the rowid) on SQLite, BIGSERIAL on PostgreSQL.
    return BigInteger().with_variant(Integer(), "sqlite")


ID = String(36)
# Compared and sorted as code points on both backends.
EXACT = String().with_variant(String(collation="C"), "postgresql")
ID_EXACT = String(36).with_variant(String(36, collation="C"), "postgresql")
TEXT = String()
JSON_DOC = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")

metadata = MetaData()

tenants = Table(
    "tenants",
    metadata,
    Column("id", ID, primary_key=True),
    Column("slug", String(63), nullable=False),
    Column("name", TEXT, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    # "active" or "suspended": a suspended tenant gets no SCIM service and no tokens.
    Column("status", String(16), nullable=False, server_default="active"),
    Column("plan_includes_scim", Boolean(), nullable=False, server_default=true()),
    Column("scim_enabled", Boolean(), nullable=False, server_default=true()),
    UniqueConstraint("slug", name="uq_tenants_slug"),
)

# A tenant's SSO connection (at most one): SCIM is served only while it is "active"
# (unless the deployment sets require_sso off); see tenancy/gates.py.
sso_connections = Table(
    "sso_connections",
    metadata,
    Column(
        "tenant_id",
        ID,
        ForeignKey("tenants.id", ondelete="CASCADE", name="fk_sso_connections_tenant"),
        primary_key=True,
    ),
    Column("protocol", String(8), nullable=False),  # "saml" | "oidc"
    # SAML entity ID or OIDC issuer.
    Column("idp_id", TEXT, nullable=False),
    # SAML metadata URL or OIDC discovery URL.
    Column("metadata_url", TEXT, nullable=True),
    Column("state", String(16), nullable=False),  # "configured" | "verified" | "active"
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

tokens = Table(
    "tokens",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "tenant_id",
        ID,
        ForeignKey("tenants.id", ondelete="CASCADE", name="fk_tokens_tenant"),
        nullable=False,
    ),
    # The token's first characters, or "sha512:" + the digest's first 8 hex digits for
    # an imported digest (whose token scimhub never saw).
    Column("prefix", String(16), nullable=False),
    # The token's last 4 characters; None for an imported digest.
    Column("last4", String(4), nullable=True),
    # SHA-512 hex digest of the whole token; the token itself is never stored.
    Column("hash", String(128), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    # Who issued it: an admin principal's id, "cli", … (free text, for the listing).
    Column("created_by", TEXT, nullable=True),
    Column("expires_at", UTCDateTime(), nullable=True),
    Column("revoked_at", UTCDateTime(), nullable=True),
    Column("revoked_by", TEXT, nullable=True),
    Column("last_used_at", UTCDateTime(), nullable=True),
    Column("use_count", Integer(), nullable=False, server_default="0"),
    # The provider segment the token is bound to (None: any URL of its tenant).
    Column("provider", String(63), nullable=True),
    # Registered as a digest the admin computed (bring your own token).
    Column("imported", Boolean(), nullable=False, server_default=false()),
    # Set on the old token when it is regenerated: the new token's id.
    Column("replaced_by", ID, nullable=True),
    UniqueConstraint("hash", name="uq_tokens_hash"),
    Index("ix_tokens_tenant", "tenant_id"),
)

# People and systems that drive the admin API: one tenant and a role each, or a
# deployment operator (tenant_id NULL, role "operator").
admin_principals = Table(
    "admin_principals",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "tenant_id",
        ID,
        ForeignKey("tenants.id", ondelete="CASCADE", name="fk_admin_principals_tenant"),
        nullable=True,
    ),
    # "owner" | "admin" | "security-admin" | "member" | "operator"
    Column("role", String(16), nullable=False),
    Column("name", TEXT, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("created_by", TEXT, nullable=True),
    Index("ix_admin_principals_tenant", "tenant_id"),
)

# Admin API keys, stored like SCIM tokens: SHA-512 digest, prefix and last 4.
admin_keys = Table(
    "admin_keys",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "principal_id",
        ID,
        ForeignKey("admin_principals.id", ondelete="CASCADE", name="fk_admin_keys_principal"),
        nullable=False,
    ),
    Column("prefix", String(24), nullable=False),
    Column("last4", String(4), nullable=False),
    Column("hash", String(128), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime(), nullable=True),
    Column("last_used_at", UTCDateTime(), nullable=True),
    UniqueConstraint("hash", name="uq_admin_keys_hash"),
    Index("ix_admin_keys_principal", "principal_id"),
)

users = Table(
    "users",
    metadata,
    Column("pk", _pk(), primary_key=True, autoincrement=True),
    Column("id", ID_EXACT, nullable=False),
    Column(
        "tenant_id",
        ID_EXACT,
        ForeignKey("tenants.id", ondelete="CASCADE", name="fk_users_tenant"),
        nullable=False,
    ),
    Column("user_name", TEXT, nullable=False),
    Column("user_name_ci", EXACT, nullable=False),
    Column("external_id", EXACT, nullable=True),
    Column("display_name", TEXT, nullable=True),
    Column("active", Boolean(), nullable=True),
    Column("created", UTCDateTime(), nullable=False),
    Column("last_modified", UTCDateTime(), nullable=False),
    Column("version", Integer(), nullable=False),
    Column("data", JSON_DOC, nullable=False),
    # The provider segment of the URL that created / last changed it (None: the bare
    # tenant URL). Never rendered in SCIM; the admin API reads them.
    Column("created_provider", String(63), nullable=True),
    Column("updated_provider", String(63), nullable=True),
    Index("uq_users_id", "id", unique=True),
    Index("uq_users_tenant_user_name_ci", "tenant_id", "user_name_ci", unique=True),
    Index("ix_users_tenant_external_id", "tenant_id", "external_id"),
    Index("ix_users_tenant_last_modified", "tenant_id", "last_modified", "pk"),
    Index("ix_users_tenant_pk", "tenant_id", "pk"),
    # AUTOINCREMENT: a pk is never reused after a delete, so keyset cursors stay valid.
    sqlite_autoincrement=True,
)

# A filter-only mirror of each user's `emails` (one row per element), for indexed
# `emails.value` and `emails[type eq "work"].value` lookups. `type` is stored folded
# (`str.lower`): emails.type is not caseExact and the mirror is never rendered.
user_emails = Table(
    "user_emails",
    metadata,
    Column("tenant_id", ID_EXACT, nullable=False),
    Column(
        "user_id",
        ID_EXACT,
        ForeignKey("users.id", ondelete="CASCADE", name="fk_user_emails_user"),
        nullable=False,
    ),
    Column("value", TEXT, nullable=True),
    Column("value_ci", EXACT, nullable=True),
    Column("type", EXACT, nullable=True),
    Column("primary", Boolean(), nullable=True),
    Index("ix_user_emails_tenant_value_ci", "tenant_id", "value_ci"),
    # For the FK cascade and the re-sync on update.
    Index("ix_user_emails_user", "user_id"),
)

groups = Table(
    "groups",
    metadata,
    Column("pk", _pk(), primary_key=True, autoincrement=True),
    Column("id", ID_EXACT, nullable=False),
    Column(
        "tenant_id",
        ID_EXACT,
        ForeignKey("tenants.id", ondelete="CASCADE", name="fk_groups_tenant"),
        nullable=False,
    ),
    Column("display_name", TEXT, nullable=False),
    Column("display_name_ci", EXACT, nullable=False),
    Column("external_id", EXACT, nullable=True),
    Column("member_count", Integer(), nullable=False, server_default="0"),
    Column("created", UTCDateTime(), nullable=False),
    Column("last_modified", UTCDateTime(), nullable=False),
    Column("version", Integer(), nullable=False),
    Column("data", JSON_DOC, nullable=False),
    Column("created_provider", String(63), nullable=True),
    Column("updated_provider", String(63), nullable=True),
    Index("uq_groups_id", "id", unique=True),
    Index("ix_groups_tenant_display_name_ci", "tenant_id", "display_name_ci"),
    Index("ix_groups_tenant_external_id", "tenant_id", "external_id"),
    Index("ix_groups_tenant_last_modified", "tenant_id", "last_modified", "pk"),
    Index("ix_groups_tenant_pk", "tenant_id", "pk"),
    sqlite_autoincrement=True,
)

# Direct memberships. `member_id` is a user's or a group's id (no FK: it names either
# table); the stores delete a member's rows when it is deleted. On SQLite the table is
# WITHOUT ROWID, i.e. clustered by (group_id, member_id): a group's members are adjacent.
memberships = Table(
    "memberships",
    metadata,
    Column("tenant_id", ID_EXACT, nullable=False),
    Column(
        "group_id",
        ID_EXACT,
        ForeignKey("groups.id", ondelete="CASCADE", name="fk_memberships_group"),
        nullable=False,
    ),
    Column("member_id", ID_EXACT, nullable=False),
    Column("member_type", String(5), nullable=False),
    # The member's `display` as the client sent it (None when it sent none).
    Column("display", Text, nullable=True),
    PrimaryKeyConstraint("group_id", "member_id", name="pk_memberships"),
    Index("ix_memberships_member", "member_id"),
    sqlite_with_rowid=False,
)

# -- the provisioning lifecycle (scimhub/lifecycle/, docs/lifecycle.md) --------------------
# New tables only: no SCIM table changes shape, so every SCIM query, index and EXPLAIN
# check stays as it is. None of them has a foreign key to `users`: an account's rows
# survive its move to `retained_users` (deprovision) and back (restore).

# One row per tenant that changed a default; a tenant without a row has the defaults.
lifecycle_policies = Table(
    "lifecycle_policies",
    metadata,
    Column(
        "tenant_id",
        ID,
        ForeignKey("tenants.id", ondelete="CASCADE", name="fk_lifecycle_policies_tenant"),
        primary_key=True,
    ),
    # What SCIM DELETE does: "deprovision" (kept, restorable, purged after retention)
    # or "purge" (removed at once).
    Column("delete_policy", String(16), nullable=False, server_default="deprovision"),
    Column("retention_days", Integer(), nullable=False, server_default="30"),
    # What a SCIM create that matches an existing account does: "link" or "refuse" (409).
    Column("linking_policy", String(8), nullable=False, server_default="link"),
    # The role every account holds (a `roles.key`), or None.
    Column("default_role_key", EXACT, nullable=True),
    # False while the IdP's first sync runs: it merges hand-made grants instead of
    # replacing them.
    Column("first_sync_done", Boolean(), nullable=False, server_default=false()),
    Column("updated_at", UTCDateTime(), nullable=False),
)

# Email domains the tenant proved it owns: linking by email only ever uses these.
verified_domains = Table(
    "verified_domains",
    metadata,
    Column(
        "tenant_id",
        ID_EXACT,
        ForeignKey("tenants.id", ondelete="CASCADE", name="fk_verified_domains_tenant"),
        nullable=False,
    ),
    Column("domain", EXACT, nullable=False),  # folded to lower case
    Column("created_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("tenant_id", "domain", name="pk_verified_domains"),
)

# The app's roles and teams. `group_id` maps a SCIM group onto the role (at most one
# group per role); `privileged` roles (owner, admin) are never granted through SCIM.
roles = Table(
    "roles",
    metadata,
    Column("id", ID_EXACT, primary_key=True),
    Column(
        "tenant_id",
        ID_EXACT,
        ForeignKey("tenants.id", ondelete="CASCADE", name="fk_roles_tenant"),
        nullable=False,
    ),
    Column("key", EXACT, nullable=False),
    Column("name", TEXT, nullable=False),
    Column("external_id", EXACT, nullable=True),
    Column("source", String(8), nullable=False),  # "app" | "scim"
    Column("privileged", Boolean(), nullable=False, server_default=false()),
    Column("group_id", ID_EXACT, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("tenant_id", "key", name="uq_roles_tenant_key"),
    Index("ix_roles_tenant_external_id", "tenant_id", "external_id"),
    Index("uq_roles_group", "group_id", unique=True),
)

# Grants made outside SCIM: by hand ("manual"), or hand grants a first sync kept
# ("merged"). Grants through groups are not rows: they follow the memberships.
role_grants = Table(
    "role_grants",
    metadata,
    Column("tenant_id", ID_EXACT, nullable=False),
    Column("user_id", ID_EXACT, nullable=False),
    Column(
        "role_id",
        ID_EXACT,
        ForeignKey("roles.id", ondelete="CASCADE", name="fk_role_grants_role"),
        nullable=False,
    ),
    Column("source", String(8), nullable=False),  # "manual" | "merged"
    Column("granted_at", UTCDateTime(), nullable=False),
    Column("granted_by", TEXT, nullable=True),
    PrimaryKeyConstraint("user_id", "role_id", name="pk_role_grants"),
    Index("ix_role_grants_role", "role_id"),
)

# App-side state of an account: when its sessions were last revoked (deactivation,
# delete), the attributes the app owns, and whether it was created outside SCIM and
# not yet linked to the IdP (`app_created`, `linked_at`).
account_states = Table(
    "account_states",
    metadata,
    Column("user_id", ID_EXACT, primary_key=True),
    Column("tenant_id", ID_EXACT, nullable=False),
    Column("sessions_revoked_at", UTCDateTime(), nullable=True),
    Column("app_created", Boolean(), nullable=False, server_default=false()),
    Column("linked_at", UTCDateTime(), nullable=True),
    Column("app_attributes", JSON_DOC, nullable=True),
    Column("updated_at", UTCDateTime(), nullable=False),
    # Linking looks up unlinked app-created accounts of a tenant.
    Index("ix_account_states_tenant", "tenant_id"),
)

# Every time a SCIM create was linked to an existing account instead of creating one.
account_links = Table(
    "account_links",
    metadata,
    Column("pk", _pk(), primary_key=True, autoincrement=True),
    Column("tenant_id", ID_EXACT, nullable=False),
    Column("user_id", ID_EXACT, nullable=False),
    Column("matched_by", String(16), nullable=False),  # "externalId" | "email" | "userName"
    # "app" (an account created outside SCIM) or "retained" (a deprovisioned account)
    Column("target", String(8), nullable=False),
    Column("provider", String(63), nullable=True),
    Column("actor", TEXT, nullable=True),
    Column("linked_at", UTCDateTime(), nullable=False),
    Index("ix_account_links_tenant_user", "tenant_id", "user_id"),
    sqlite_autoincrement=True,
)

# Deprovisioned accounts: the `users` row moved out (so SCIM answers 404 and no SCIM
# query sees it), with its emails, its direct groups and the moment it was deleted.
retained_users = Table(
    "retained_users",
    metadata,
    Column("id", ID_EXACT, primary_key=True),
    Column("tenant_id", ID_EXACT, nullable=False),
    Column("user_name_ci", EXACT, nullable=False),
    Column("external_id", EXACT, nullable=True),
    # The provider segment that last wrote it: externalId is that provider's key.
    Column("provider", String(63), nullable=True),
    Column("created", UTCDateTime(), nullable=False),
    Column("version", Integer(), nullable=False),
    Column("data", JSON_DOC, nullable=False),
    Column("created_provider", String(63), nullable=True),
    # [group id, …]: the groups it was a direct member of.
    Column("group_ids", JSON_DOC, nullable=False),
    Column("deleted_at", UTCDateTime(), nullable=False),
    Column("deleted_by", TEXT, nullable=True),
    Index("ix_retained_users_tenant_user_name_ci", "tenant_id", "user_name_ci"),
    Index("ix_retained_users_tenant_external_id", "tenant_id", "external_id"),
    Index("ix_retained_users_deleted_at", "deleted_at"),
)

retained_emails = Table(
    "retained_emails",
    metadata,
    Column("tenant_id", ID_EXACT, nullable=False),
    Column(
        "user_id",
        ID_EXACT,
        ForeignKey("retained_users.id", ondelete="CASCADE", name="fk_retained_emails_user"),
        nullable=False,
    ),
    Column("value_ci", EXACT, nullable=False),
    Index("ix_retained_emails_tenant_value_ci", "tenant_id", "value_ci"),
    Index("ix_retained_emails_user", "user_id"),
)

# -- events, webhooks, email, audit (0004) -------------------------------------------------

# Per-tenant settings of the audit trail, the event feed and email (a table of its own,
# not columns on `tenants`): absent row = the defaults in `events/tenant_settings.py`.
tenant_settings = Table(
    "tenant_settings",
    metadata,
    Column(
        "tenant_id",
        ID,
        ForeignKey("tenants.id", ondelete="CASCADE", name="fk_tenant_settings_tenant"),
        primary_key=True,
    ),
    Column("event_retention_days", Integer(), nullable=False),
    Column("audit_retention_days", Integer(), nullable=False),
    # Email a provisioned user a welcome / "your SSO account is ready" message.
    Column("welcome_email", Boolean(), nullable=False, server_default=false()),
    Column("sso_ready_email", Boolean(), nullable=False, server_default=false()),
    # Addresses told of new and revoked SCIM tokens: a JSON list of strings.
    Column("admin_emails", JSON_DOC, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)


def _published(published: bool) -> dict[str, Any]:
    """A partial index over published (`feed_seq` set) or unpublished events."""
    where = text("feed_seq IS NOT NULL" if published else "feed_seq IS NULL")
    return {"sqlite_where": where, "postgresql_where": where}


# The outbox and the event feed in one table. A write inserts its events here in its own
# transaction (`seq` in insertion order); the dispatcher later gives each committed
# event its `feed_seq` (one dispatcher at a time, so feed order is commit-safe: a feed
# reader never sees feed_seq 11 before 10) and fans it out to deliveries and emails.
events = Table(
    "events",
    metadata,
    Column("seq", _pk(), primary_key=True, autoincrement=True),
    Column("id", String(40), nullable=False),
    Column(
        "tenant_id",
        ID,
        ForeignKey("tenants.id", ondelete="CASCADE", name="fk_events_tenant"),
        nullable=False,
    ),
    Column("type", String(40), nullable=False),
    # "User:<id>", "Group:<id>", "Token:<id>", …: deliveries are ordered per key.
    Column("resource_key", String(80), nullable=True),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("payload", JSON_DOC, nullable=False),
    Column("feed_seq", BigInteger(), nullable=True),
    # The feed, subscribers and retention read published events only: their indexes
    # are written when the dispatcher publishes a batch, not by each write (migration
    # 0005). The dispatcher's queue is the partial index over unpublished events.
    Index("uq_events_feed_seq", "feed_seq", unique=True, **_published(True)),
    Index("ix_events_tenant_feed_seq", "tenant_id", "feed_seq", **_published(True)),
    Index("ix_events_occurred_at", "occurred_at", **_published(True)),
    Index("ix_events_unpublished", "seq", **_published(False)),
    sqlite_autoincrement=True,
)

# Cursors of in-process subscribers (`scimhub.events.subscribe`): the last feed_seq each
# named subscriber has handled, so a restart resumes where it stopped.
event_cursors = Table(
    "event_cursors",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("feed_seq", BigInteger(), nullable=False),
)

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "tenant_id",
        ID,
        ForeignKey("tenants.id", ondelete="CASCADE", name="fk_webhook_endpoints_tenant"),
        nullable=False,
    ),
    Column("url", TEXT, nullable=False),
    # `whsec_<base64>` (Standard Webhooks); it signs, so it is stored as is.
    Column("secret", String(100), nullable=False),
    # JSON list of event types, or NULL for every type.
    Column("event_types", JSON_DOC, nullable=True),
    Column("enabled", Boolean(), nullable=False, server_default=true()),
    Column("description", TEXT, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("created_by", TEXT, nullable=True),
    Index("ix_webhook_endpoints_tenant", "tenant_id"),
)

# One row per (endpoint, event): the unit of delivery, retry, dead letter and replay.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", _pk(), primary_key=True, autoincrement=True),
    Column(
        "endpoint_id",
        ID,
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE", name="fk_deliveries_endpoint"),
        nullable=False,
    ),
    Column(
        "event_seq",
        BigInteger(),
        ForeignKey("events.seq", ondelete="CASCADE", name="fk_deliveries_event"),
        nullable=False,
    ),
    Column("feed_seq", BigInteger(), nullable=False),
    Column("resource_key", String(80), nullable=False),
    # "pending" | "delivered" | "dead"
    Column("status", String(10), nullable=False),
    Column("attempts", Integer(), nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("lease_until", UTCDateTime(), nullable=True),
    Column("lease_owner", String(64), nullable=True),
    Column("last_error", TEXT, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("delivered_at", UTCDateTime(), nullable=True),
    Index("ix_deliveries_status_next", "status", "next_attempt_at"),
    Index("ix_deliveries_chain", "endpoint_id", "resource_key", "status", "feed_seq"),
    Index("ix_deliveries_event", "event_seq"),
    sqlite_autoincrement=True,
)

# The delivery log: every attempt, its HTTP status (None: no response), latency, error.
delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", _pk(), primary_key=True, autoincrement=True),
    Column(
        "delivery_id",
        BigInteger(),
        ForeignKey("deliveries.id", ondelete="CASCADE", name="fk_delivery_attempts_delivery"),
        nullable=False,
    ),
    Column("endpoint_id", ID, nullable=False),
    Column("attempt", Integer(), nullable=False),
    Column("attempted_at", UTCDateTime(), nullable=False),
    Column("status_code", Integer(), nullable=True),
    Column("latency_ms", Integer(), nullable=False),
    Column("error", TEXT, nullable=True),
    Column("worker", String(64), nullable=True),
    Index("ix_delivery_attempts_endpoint", "endpoint_id", "id"),
    Index("ix_delivery_attempts_delivery", "delivery_id"),
    sqlite_autoincrement=True,
)

# Queued emails, fanned out from events; sent and retried like deliveries.
emails = Table(
    "emails",
    metadata,
    Column("id", _pk(), primary_key=True, autoincrement=True),
    Column(
        "tenant_id",
        ID,
        ForeignKey("tenants.id", ondelete="CASCADE", name="fk_emails_tenant"),
        nullable=False,
    ),
    Column("event_id", String(40), nullable=True),
    Column("template", String(40), nullable=False),
    Column("recipient", TEXT, nullable=False),
    Column("context", JSON_DOC, nullable=False),
    Column("status", String(10), nullable=False),  # "pending" | "sent" | "dead"
    Column("attempts", Integer(), nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("lease_until", UTCDateTime(), nullable=True),
    Column("lease_owner", String(64), nullable=True),
    Column("last_error", TEXT, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("sent_at", UTCDateTime(), nullable=True),
    Index("ix_emails_status_next", "status", "next_attempt_at"),
    sqlite_autoincrement=True,
)

# The audit trail: every state-changing SCIM request, every refused or failed one, every
# admin action. `seq` orders it and is the paging cursor.
audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", _pk(), primary_key=True, autoincrement=True),
    Column(
        "tenant_id",
        ID,
        ForeignKey("tenants.id", ondelete="CASCADE", name="fk_audit_log_tenant"),
        nullable=True,
    ),
    Column("at", UTCDateTime(), nullable=False),
    Column("source", String(8), nullable=False),  # "scim" | "admin"
    Column("provider", String(63), nullable=True),
    Column("actor", TEXT, nullable=True),
    Column("request_id", String(64), nullable=True),
    Column("user_agent", TEXT, nullable=True),
    Column("operation", TEXT, nullable=False),
    Column("resource_type", String(16), nullable=True),
    Column("resource_id", String(64), nullable=True),
    Column("before", JSON_DOC, nullable=True),
    Column("after", JSON_DOC, nullable=True),
    Column("outcome", String(8), nullable=False),  # "success" | "refused" | "failed"
    Column("status", Integer(), nullable=True),
    Column("error", TEXT, nullable=True),
    Index("ix_audit_log_tenant_seq", "tenant_id", "seq"),
    Index("ix_audit_log_tenant_at", "tenant_id", "at"),
    Index("ix_audit_log_tenant_resource", "tenant_id", "resource_id"),
    sqlite_autoincrement=True,
)
