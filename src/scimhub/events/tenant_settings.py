"""Per-tenant settings of the audit trail, the event feed and email, in their own table
(`tenant_settings`); a tenant without a row has the defaults."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from scimhub.db.tables import tenant_settings
from scimhub.tenancy.errors import InvalidInput

# Kept longer than the 30 days some hosted services keep events: an app that was down
# over a holiday must still find what it missed.
DEFAULT_EVENT_RETENTION_DAYS = 90
DEFAULT_AUDIT_RETENTION_DAYS = 365
MAX_RETENTION_DAYS = 3650
_EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+$")


@dataclass(frozen=True, slots=True)
class TenantSettings:
    event_retention_days: int = DEFAULT_EVENT_RETENTION_DAYS
    audit_retention_days: int = DEFAULT_AUDIT_RETENTION_DAYS
    # Email each provisioned user a welcome (invitation) message. Off by default.
    welcome_email: bool = False
    # Email each provisioned user "your SSO account is ready: sign in through your IdP".
    sso_ready_email: bool = False
    # Told of new and revoked SCIM tokens.
    admin_emails: tuple[str, ...] = ()


DEFAULTS = TenantSettings()


def get_settings(conn: Connection, tenant_id: str) -> TenantSettings:
    row = conn.execute(
        select(tenant_settings).where(tenant_settings.c.tenant_id == tenant_id)
    ).first()
    if row is None:
        return DEFAULTS
    return TenantSettings(
        event_retention_days=row.event_retention_days,
        audit_retention_days=row.audit_retention_days,
        welcome_email=bool(row.welcome_email),
        sso_ready_email=bool(row.sso_ready_email),
        admin_emails=tuple(row.admin_emails or ()),
    )


def _check(values: TenantSettings) -> None:
    for name in ("event_retention_days", "audit_retention_days"):
        days = getattr(values, name)
        if not isinstance(days, int) or not 1 <= days <= MAX_RETENTION_DAYS:
            raise InvalidInput(f"{name} must be 1 to {MAX_RETENTION_DAYS}", code="invalid_setting")
    for address in values.admin_emails:
        if not isinstance(address, str) or not _EMAIL.fullmatch(address):
            raise InvalidInput(f"not an email address: {address!r}", code="invalid_setting")


def update_settings(conn: Connection, tenant_id: str, **changes: Any) -> TenantSettings:
    """Sets the given fields (None: unchanged); InvalidInput for a bad value."""
    given = {k: v for k, v in changes.items() if v is not None}
    if "admin_emails" in given:
        given["admin_emails"] = tuple(given["admin_emails"])
    values = replace(get_settings(conn, tenant_id), **given)
    _check(values)
    conn.execute(delete(tenant_settings).where(tenant_settings.c.tenant_id == tenant_id))
    conn.execute(
        insert(tenant_settings).values(
            tenant_id=tenant_id,
            event_retention_days=values.event_retention_days,
            audit_retention_days=values.audit_retention_days,
            welcome_email=values.welcome_email,
            sso_ready_email=values.sso_ready_email,
            admin_emails=list(values.admin_emails),
            updated_at=datetime.now(UTC),
        )
    )
    return values
