"""Request and response bodies of the admin API (pydantic; they make the OpenAPI
document). Field names are snake_case; times are RFC 3339 in UTC."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from scimhub.events.endpoints import Endpoint
from scimhub.events.tenant_settings import TenantSettings
from scimhub.tenancy.principals import AdminKeyEntry, Principal
from scimhub.tenancy.sso import SsoConnection
from scimhub.tenancy.tenants import Tenant
from scimhub.tenancy.tokens import TokenInfo

# The longest grace period and lifetime the API accepts (and so the largest time
# arithmetic it can cause: nothing near datetime's year-9999 bound).
MAX_GRACE_SECONDS = 366 * 24 * 3600
MAX_LIFETIME = timedelta(days=100 * 366)


def _storable(value: str) -> str:
    """Text PostgreSQL can store and UTF-8 can encode: no NUL, no lone surrogate."""
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def _future(value: datetime) -> datetime:
    """An instant in the future, at most 100 years away; no offset means UTC."""
    moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    now = datetime.now(UTC)
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("must be a time within the next 100 years") from None
    if moment <= now:
        raise ValueError("must be in the future")
    if moment - now > MAX_LIFETIME:
        raise ValueError("must be a time within the next 100 years")
    return moment


Text = Annotated[str, AfterValidator(_storable)]
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_8601(value: Any) -> Any:
    """Pydantic reads a bare number as Unix time; the API documents an ISO 8601
    date-time (OpenAPI `format: date-time`), so a number is refused, not guessed at."""
    if isinstance(value, datetime) or (isinstance(value, str) and _DATE.match(value.strip())):
        return value
    raise ValueError("expected an ISO 8601 date-time, e.g. 2026-11-23T06:00:00Z")


# A date-time (a query parameter or a body field): ISO 8601 only.
Instant = Annotated[datetime, BeforeValidator(_iso_8601)]

FutureTime = Annotated[datetime, BeforeValidator(_iso_8601), AfterValidator(_future)]

TenantRole = Literal["owner", "admin", "security-admin", "member"]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- tenants ----------------------------------------------------------------------------


class TenantOut(BaseModel):
    id: str
    slug: str = Field(description="The tenant's SCIM URL segment: `/scim/v2/{slug}`.")
    name: str
    status: Literal["active", "suspended"]
    plan_includes_scim: bool
    scim_enabled: bool
    created_at: datetime | None

    @classmethod
    def of(cls, tenant: Tenant) -> TenantOut:
        return cls(
            id=tenant.id,
            slug=tenant.slug,
            name=tenant.name,
            status=tenant.status,
            plan_includes_scim=tenant.plan_includes_scim,
            scim_enabled=tenant.scim_enabled,
            created_at=tenant.created_at,
        )


class TenantList(BaseModel):
    tenants: list[TenantOut]


class TenantCreate(_Input):
    slug: Text = Field(
        pattern=r"^[a-z0-9][a-z0-9-]{0,62}$",
        description="1-63 lower-case letters, digits or '-', not starting with '-'.",
        examples=["acme"],
    )
    name: Text | None = Field(default=None, min_length=1, max_length=200, examples=["Acme"])
    plan_includes_scim: bool = Field(default=True, strict=True)
    scim_enabled: bool = Field(default=True, strict=True)


class TenantUpdate(_Input):
    name: Text | None = Field(
        default=None, min_length=1, max_length=200, description="Owners, admins, operators."
    )
    status: Literal["active", "suspended"] | None = Field(
        default=None, description="Operators only."
    )
    plan_includes_scim: bool | None = Field(
        default=None, strict=True, description="Operators only."
    )


# -- SSO --------------------------------------------------------------------------------


class SsoOut(BaseModel):
    protocol: Literal["saml", "oidc"]
    idp_id: str = Field(description="SAML entity ID or OIDC issuer.")
    metadata_url: str | None = Field(description="SAML metadata or OIDC discovery URL.")
    state: Literal["configured", "verified", "active"]
    updated_at: datetime

    @classmethod
    def of(cls, sso: SsoConnection) -> SsoOut:
        return cls(
            protocol=sso.protocol,
            idp_id=sso.idp_id,
            metadata_url=sso.metadata_url,
            state=sso.state,
            updated_at=sso.updated_at,
        )


class SsoSet(_Input):
    protocol: Literal["saml", "oidc"]
    idp_id: Text = Field(
        min_length=1,
        max_length=2048,
        description="SAML entity ID or OIDC issuer.",
        examples=["https://idp.example.com/saml"],
    )
    metadata_url: Text | None = Field(
        default=None,
        max_length=2048,
        description="SAML metadata or OIDC discovery URL (http or https).",
        examples=["https://idp.example.com/saml/metadata"],
    )


class SsoStateSet(_Input):
    state: Literal["configured", "verified", "active"] = Field(
        description="`verified`: the host app checked a login through the connection; "
        "`active`: verified and in use (SCIM needs this); `configured`: back to unchecked."
    )


# -- tokens -----------------------------------------------------------------------------


class TokenOut(BaseModel):
    id: str
    prefix: str = Field(description="The token's first characters (`sha512:…` if imported).")
    last4: str | None = Field(description="Its last 4 characters (none if imported).")
    status: Literal["active", "revoked", "expired"]
    revoked: bool = Field(description="No longer accepted: revoked, or past its expiry.")
    created_at: datetime
    created_by: str | None
    expires_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None
    replaced_by: str | None = Field(description="The token that replaced it on regenerate.")
    last_used_at: datetime | None
    use_count: int
    provider: str | None = Field(description="The provider segment it is bound to, if any.")
    imported: bool

    @classmethod
    def of(cls, info: TokenInfo) -> TokenOut:
        return cls(
            id=info.id,
            prefix=info.prefix,
            last4=info.last4,
            status="revoked" if info.revoked_at else ("expired" if info.expired else "active"),
            revoked=info.revoked,
            created_at=info.created_at,
            created_by=info.created_by,
            expires_at=info.expires_at,
            revoked_at=info.revoked_at,
            revoked_by=info.revoked_by,
            replaced_by=info.replaced_by,
            last_used_at=info.last_used_at,
            use_count=info.use_count,
            provider=info.provider,
            imported=info.imported,
        )


class TokenList(BaseModel):
    tokens: list[TokenOut]


class TokenCreate(_Input):
    expires_at: FutureTime | None = Field(
        default=None, description="Optional expiry (no offset: UTC). Default: never."
    )
    provider: Text | None = Field(
        default=None,
        max_length=63,
        description="Bind the token to one provider segment: `/scim/v2/{tenant}/{provider}`.",
    )


class TokenImport(_Input):
    sha512_hex: Text = Field(
        pattern=r"^[0-9a-fA-F]{128}$",
        description="The SHA-512 digest (128 hex digits) of a token you generated.",
    )
    expires_at: FutureTime | None = None
    provider: Text | None = Field(default=None, max_length=63)


class TokenRegenerate(_Input):
    grace_seconds: int | None = Field(
        default=None,
        strict=True,
        ge=0,
        le=MAX_GRACE_SECONDS,
        description="Keep the old token working this long (0 or absent: revoke it now).",
    )


class NewToken(BaseModel):
    token: str = Field(description="The token itself. Shown this once; store it now.")
    token_info: TokenOut
    replaces: TokenOut | None = Field(
        default=None, description="On regenerate: the old token, as it is now."
    )


# -- SCIM settings ----------------------------------------------------------------------


class Refusal(BaseModel):
    code: str = Field(
        description="tenant_suspended, scim_disabled, plan_excludes_scim, "
        "sso_not_configured or sso_not_active"
    )
    message: str


class IdpField(BaseModel):
    label: str = Field(description="The field as the IdP's admin console labels it.")
    value: str
    secret: bool = Field(
        default=False,
        description="The value is the SCIM token, which scimhub shows only when it is made.",
    )


class IdpGuide(BaseModel):
    id: str
    name: str
    where: str = Field(description="Where the fields are in the IdP's console.")
    fields: list[IdpField]
    notes: list[str]


class ScimSettings(BaseModel):
    tenant: str
    base_url: str = Field(description="The SCIM base URL to paste into the IdP.")
    ready: bool = Field(description="Every gate passes: tokens are issued, SCIM is served.")
    refusal: Refusal | None = Field(description="When not ready: the first gate that refuses.")
    status: Literal["active", "suspended"]
    plan_includes_scim: bool
    scim_enabled: bool
    require_sso: bool
    sso_state: Literal["configured", "verified", "active"] | None
    active_tokens: int
    idps: list[IdpGuide]


# -- directory --------------------------------------------------------------------------


class ResourcePage(BaseModel):
    """A page of SCIM resources (RFC 7643 representations)."""

    total_results: int | None
    start_index: int | None = Field(description="With index paging.")
    items_per_page: int
    next_cursor: str | None = Field(description="With cursor paging: the next page's cursor.")
    resources: list[dict[str, Any]]


# -- admin keys -------------------------------------------------------------------------


class PrincipalOut(BaseModel):
    id: str
    tenant: str | None = Field(description="The tenant's slug; none for an operator.")
    role: Literal["owner", "admin", "security-admin", "member", "operator"]
    name: str | None

    @classmethod
    def of(cls, principal: Principal, tenant_slug: str | None) -> PrincipalOut:
        return cls(id=principal.id, tenant=tenant_slug, role=principal.role, name=principal.name)


class AdminKeyCreate(_Input):
    role: TenantRole
    name: Text | None = Field(default=None, min_length=1, max_length=200)


class OperatorKeyCreate(_Input):
    name: Text | None = Field(default=None, min_length=1, max_length=200)


class NewAdminKey(BaseModel):
    key: str = Field(description="The admin key itself. Shown this once; store it now.")
    principal: PrincipalOut


class AdminKeyOut(BaseModel):
    """An admin key as listings show it: never the key itself or its digest."""

    id: str
    principal_id: str
    role: Literal["owner", "admin", "security-admin", "member", "operator"]
    name: str | None = Field(description="Who or what the key's principal is.")
    prefix: str = Field(description="The key's first characters (`scimhub_admin_` and 4).")
    last4: str = Field(description="Its last 4 characters.")
    created_at: datetime
    last_used_at: datetime | None = Field(description="Recorded at most once a minute.")
    revoked_at: datetime | None

    @classmethod
    def of(cls, entry: AdminKeyEntry) -> AdminKeyOut:
        return cls(
            id=entry.id,
            principal_id=entry.principal_id,
            role=entry.role,
            name=entry.name,
            prefix=entry.prefix,
            last4=entry.last4,
            created_at=entry.created_at,
            last_used_at=entry.last_used_at,
            revoked_at=entry.revoked_at,
        )


class AdminKeyList(BaseModel):
    admin_keys: list[AdminKeyOut]


# -- lifecycle (docs/lifecycle.md) ----------------------------------------------------------


class PolicyOut(BaseModel):
    delete_policy: Literal["deprovision", "purge"] = Field(
        description="What SCIM DELETE does: `deprovision` (gone from SCIM, kept and "
        "restorable for `retention_days`) or `purge` (removed at once)."
    )
    retention_days: int = Field(description="How long deprovisioned accounts are kept.")
    linking_policy: Literal["link", "refuse"] = Field(
        description="A SCIM create matching an account created outside SCIM: `link` it, "
        "or `refuse` with 409."
    )
    default_role_key: str | None = Field(description="The role every account holds.")
    first_sync_done: bool = Field(
        description="False during the IdP's first sync, which merges hand-made grants; "
        "afterwards the IdP replaces them."
    )
    verified_domains: list[str] = Field(
        description="Email domains the tenant owns: linking by email uses only these."
    )


class PolicyUpdate(_Input):
    delete_policy: Literal["deprovision", "purge"] | None = None
    # strict: `false` is not 0 days, `"yes"` is not true.
    retention_days: int | None = Field(default=None, ge=0, le=3650, strict=True)
    linking_policy: Literal["link", "refuse"] | None = None
    default_role_key: Text | None = Field(
        default=None, max_length=63, description="A role key; `null` clears it."
    )
    first_sync_done: bool | None = Field(default=None, strict=True)


class RoleOut(BaseModel):
    key: str
    name: str
    external_id: str | None
    source: Literal["app", "scim"] = Field(description="Defined by the app, or by a SCIM group.")
    privileged: bool = Field(description="Owner and admin: never granted through SCIM.")
    group_id: str | None = Field(description="The SCIM group mapped onto this role.")


class RoleList(BaseModel):
    roles: list[RoleOut]


class RoleCreate(_Input):
    key: Text = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}$", examples=["billing"])
    name: Text | None = Field(default=None, min_length=1, max_length=200)
    external_id: Text | None = Field(
        default=None,
        max_length=512,
        description="The IdP group's externalId, if known: that group adopts this role.",
    )


class GrantOut(BaseModel):
    role_key: str
    source: Literal["default", "group", "manual", "merged"] = Field(
        description="`default` (the tenant's default role), `group` (through `via_group`, "
        "directly or by nesting), `manual` (by hand), `merged` (by hand, kept by the first "
        "sync)."
    )
    via_group: str | None = None


class GrantList(BaseModel):
    grants: list[GrantOut]


class AccessOut(BaseModel):
    active: bool = Field(description="False: deactivated; the user may not act.")
    roles: list[str] = Field(description="Effective role keys, sorted.")
    sessions_revoked_at: datetime | None = Field(
        description="Sessions issued before this instant are invalid (null: never revoked)."
    )


class AccountCreate(_Input):
    """An account created outside SCIM (JIT on first SSO login, or by an admin): a SCIM
    User body, without `schemas`. The IdP's later create of the same person links to it."""

    model_config = ConfigDict(extra="allow")
    userName: Text = Field(min_length=1, max_length=1024, examples=["ada@example.com"])


class AccountUpdate(_Input):
    attributes: dict[str, Any] | None = Field(
        default=None,
        description="SCIM attributes to replace (e.g. `displayName`, `active`). Refused "
        "with 409 `scim_managed` while SCIM is enabled: the IdP is their source of truth.",
    )
    app_attributes: dict[str, Any] | None = Field(
        default=None, description="The app's own attributes (read-only to SCIM)."
    )


# -- webhooks, events, audit --------------------------------------------------------------


class WebhookCreate(_Input):
    url: Text = Field(max_length=2000, description="Where events are POSTed (http or https).")
    events: list[Text] | None = Field(
        default=None, description="Event types to send (absent: every type)."
    )
    description: Text | None = Field(default=None, max_length=500)


class WebhookUpdate(_Input):
    url: Text | None = Field(default=None, max_length=2000)
    events: list[Text] | None = Field(
        default=None, description="Event types to send; `null` sends every type."
    )
    enabled: bool | None = Field(default=None, strict=True)
    description: Text | None = Field(default=None, max_length=500)
    rotate_secret: bool = Field(
        default=False,
        strict=True,
        description="Replace the signing secret (the response shows it).",
    )


class WebhookOut(BaseModel):
    id: str
    url: str
    events: list[str] | None = Field(description="Event types sent (null: every type).")
    enabled: bool
    description: str | None
    created_at: datetime
    created_by: str | None

    @classmethod
    def of(cls, endpoint: Endpoint) -> WebhookOut:
        return cls(
            id=endpoint.id,
            url=endpoint.url,
            events=list(endpoint.event_types) if endpoint.event_types is not None else None,
            enabled=endpoint.enabled,
            description=endpoint.description,
            created_at=endpoint.created_at,
            created_by=endpoint.created_by,
        )


class NewWebhook(WebhookOut):
    secret: str = Field(
        description="The signing secret (`whsec_…`, Standard Webhooks). Verify each "
        "request's `webhook-signature` with it."
    )


class WebhookList(BaseModel):
    webhooks: list[WebhookOut]


class DeliveryOut(BaseModel):
    id: int
    event_id: str
    event_type: str
    sequence: int
    status: Literal["pending", "delivered", "dead"]
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


class DeliveryList(BaseModel):
    deliveries: list[DeliveryOut]
    next_cursor: str | None = Field(description="Pass as `after` for the next page.")


class AttemptOut(BaseModel):
    id: int
    delivery_id: int
    event_id: str
    event_type: str
    attempt: int
    attempted_at: datetime
    status_code: int | None = Field(description="The HTTP status (null: no response).")
    latency_ms: int
    error: str | None
    worker: str | None


class AttemptList(BaseModel):
    attempts: list[AttemptOut]
    next_cursor: str | None = Field(description="Pass as `before` for older attempts.")


class Replayed(BaseModel):
    replayed: int


class EventFeed(BaseModel):
    events: list[dict[str, Any]] = Field(
        description="Events in feed order, each as webhooks carry it, with `sequence`."
    )
    next_cursor: str = Field(description="Pass as `after` on the next poll.")


class EventSettingsOut(BaseModel):
    event_retention_days: int
    audit_retention_days: int
    welcome_email: bool
    sso_ready_email: bool
    admin_emails: list[str]

    @classmethod
    def of(cls, values: TenantSettings) -> EventSettingsOut:
        return cls(
            event_retention_days=values.event_retention_days,
            audit_retention_days=values.audit_retention_days,
            welcome_email=values.welcome_email,
            sso_ready_email=values.sso_ready_email,
            admin_emails=list(values.admin_emails),
        )


class EventSettingsUpdate(_Input):
    # strict: JSON `true` is not 1, nor "1" a number (the schema says integer/boolean).
    event_retention_days: int | None = Field(default=None, ge=1, le=3650, strict=True)
    audit_retention_days: int | None = Field(default=None, ge=1, le=3650, strict=True)
    welcome_email: bool | None = Field(default=None, strict=True)
    sso_ready_email: bool | None = Field(default=None, strict=True)
    admin_emails: list[Text] | None = Field(default=None, max_length=50)


class AuditRecordOut(BaseModel):
    seq: int
    at: datetime
    source: Literal["scim", "admin"]
    provider: str | None
    actor: str | None
    request_id: str | None
    user_agent: str | None
    operation: str
    resource_type: str | None
    resource_id: str | None
    before: Any
    after: Any
    outcome: Literal["success", "refused", "failed"]
    status: int | None
    error: str | None


class AuditPage(BaseModel):
    records: list[AuditRecordOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for older records.")
