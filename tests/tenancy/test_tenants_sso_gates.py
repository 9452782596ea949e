"""Tenants, SSO connections and the SCIM gates, on both backends."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from scimhub.db.engine import Database
from scimhub.tenancy.errors import DomainError, InvalidInput, NotFound, TenantExists
from scimhub.tenancy.gates import Refusal, scim_refusal
from scimhub.tenancy.sso import SsoConnection, get_connection, set_connection, set_state
from scimhub.tenancy.tenants import (
    Tenant,
    create_tenant,
    get_tenant,
    get_tenant_by_id,
    list_tenants,
    update_tenant,
)


def test_a_new_tenant_is_active_with_scim_included_and_enabled(db: Database) -> None:
    with db.write() as conn:
        created = create_tenant(conn, "initech", "Initech")
    assert (created.status, created.plan_includes_scim, created.scim_enabled) == (
        "active",
        True,
        True,
    )
    assert created.created_at is not None and created.created_at.tzinfo is not None
    with db.read() as conn:
        assert get_tenant(conn, "initech") == created
        assert get_tenant_by_id(conn, created.id) == created
        assert get_tenant_by_id(conn, "no-such-id") is None
        assert get_tenant_by_id(conn, "x\x00") is None
        assert [t.slug for t in list_tenants(conn)] == ["initech"]


def test_create_with_plan_and_scim_switches(db: Database) -> None:
    with db.write() as conn:
        created = create_tenant(conn, "hooli", plan_includes_scim=False, scim_enabled=False)
        assert get_tenant(conn, "hooli") == created
    assert (created.name, created.plan_includes_scim, created.scim_enabled) == (
        "hooli",
        False,
        False,
    )


def test_errors_carry_stable_codes(db: Database, tenant: Tenant) -> None:
    with db.write() as conn:
        with pytest.raises(TenantExists) as exists:
            create_tenant(conn, "acme")
        assert exists.value.code == "tenant_exists" and exists.value.status == 409
        with pytest.raises(InvalidInput) as bad:
            create_tenant(conn, "Not A Slug")
        # Older callers catch ValueError.
        assert isinstance(bad.value, ValueError) and bad.value.code == "invalid_slug"
        with pytest.raises(InvalidInput):
            create_tenant(conn, "blank", "   ")


def test_update_changes_only_what_is_given(db: Database, tenant: Tenant) -> None:
    with db.write() as conn:
        suspended = update_tenant(conn, "acme", status="suspended")
        assert (suspended.status, suspended.name, suspended.scim_enabled) == (
            "suspended",
            "Acme Corp",
            True,
        )
        renamed = update_tenant(conn, "acme", name="Acme Inc", plan_includes_scim=False)
        assert (renamed.name, renamed.status, renamed.plan_includes_scim) == (
            "Acme Inc",
            "suspended",
            False,
        )
        disabled = update_tenant(conn, "acme", scim_enabled=False, status="active")
    with db.read() as conn:
        assert get_tenant(conn, "acme") == disabled
    assert (disabled.status, disabled.scim_enabled, disabled.plan_includes_scim) == (
        "active",
        False,
        False,
    )


def test_update_refuses_unknown_tenants_and_values(db: Database, tenant: Tenant) -> None:
    with db.write() as conn:
        with pytest.raises(NotFound) as missing:
            update_tenant(conn, "nope", name="x")
        assert missing.value.code == "tenant_not_found" and missing.value.status == 404
        with pytest.raises(InvalidInput) as bad:
            update_tenant(conn, "acme", status="deleted")
        assert bad.value.code == "invalid_status"
        assert get_tenant(conn, "acme") == tenant


# -- SSO -----------------------------------------------------------------------------------


def test_sso_connection_lifecycle(db: Database) -> None:
    with db.write() as conn:
        bare = create_tenant(conn, "initech")
        assert get_connection(conn, bare.id) is None
        configured = set_connection(
            conn,
            bare.id,
            protocol="oidc",
            idp_id="https://login.example.com",
            metadata_url="https://login.example.com/.well-known/openid-configuration",
        )
        assert configured.state == "configured"
        assert get_connection(conn, bare.id) == configured
        verified = set_state(conn, bare.id, "verified")
        active = set_state(conn, bare.id, "active")
        assert (verified.state, active.state) == ("verified", "active")
        assert active.updated_at >= configured.updated_at
        # Reconfiguring goes back to "configured": a changed IdP is verified again.
        again = set_connection(conn, bare.id, protocol="saml", idp_id="urn:entity:acme")
        assert (again.state, again.protocol, again.metadata_url) == ("configured", "saml", None)
        assert get_connection(conn, bare.id) == again


@pytest.mark.parametrize(
    ("protocol", "idp_id", "url", "code"),
    [
        ("ldap", "x", None, "invalid_protocol"),
        ("SAML", "x", None, "invalid_protocol"),
        ("saml", "", None, "invalid_idp_id"),
        ("saml", "   ", None, "invalid_idp_id"),
        ("saml", "x\x00", None, "invalid_idp_id"),
        ("saml", "x", "ftp://idp.example.com/md", "invalid_metadata_url"),
        ("saml", "x", "not a url", "invalid_metadata_url"),
        ("oidc", "x", "https://", "invalid_metadata_url"),
    ],
)
def test_sso_input_is_checked(
    db: Database, protocol: str, idp_id: str, url: str | None, code: str
) -> None:
    with db.write() as conn:
        bare = create_tenant(conn, "initech")
        with pytest.raises(InvalidInput) as bad:
            set_connection(conn, bare.id, protocol=protocol, idp_id=idp_id, metadata_url=url)
        assert bad.value.code == code
        assert get_connection(conn, bare.id) is None


def test_set_state_needs_a_connection_and_a_known_state(db: Database, tenant: Tenant) -> None:
    with db.write() as conn:
        bare = create_tenant(conn, "initech")
        with pytest.raises(NotFound) as missing:
            set_state(conn, bare.id, "active")
        assert missing.value.code == "sso_not_configured"
        with pytest.raises(InvalidInput):
            set_state(conn, tenant.id, "enabled")


def test_deleting_a_tenant_deletes_its_connection(db: Database, tenant: Tenant) -> None:
    from sqlalchemy import delete, func, select

    from scimhub.db.tables import sso_connections, tenants

    with db.write() as conn:
        conn.execute(delete(tenants).where(tenants.c.id == tenant.id))
        count = conn.execute(select(func.count()).select_from(sso_connections)).scalar()
    assert count == 0


# -- gates (pure) --------------------------------------------------------------------------

NOW = datetime(2026, 1, 1, tzinfo=UTC)
OK = Tenant("t", "acme", "Acme")
ACTIVE = SsoConnection("t", "saml", "urn:x", None, "active", NOW)


@pytest.mark.parametrize(
    ("tenant", "sso", "code", "words"),
    [
        (replace(OK, status="suspended"), ACTIVE, "tenant_suspended", "suspended"),
        (replace(OK, scim_enabled=False), ACTIVE, "scim_disabled", "disabled"),
        (replace(OK, plan_includes_scim=False), ACTIVE, "plan_excludes_scim", "plan"),
        (OK, None, "sso_not_configured", "no SSO connection"),
        (OK, replace(ACTIVE, state="configured"), "sso_not_active", "configured, not active"),
        (OK, replace(ACTIVE, state="verified"), "sso_not_active", "verified, not active"),
    ],
)
def test_each_gate_refuses_with_its_reason(
    tenant: Tenant, sso: SsoConnection | None, code: str, words: str
) -> None:
    refusal = scim_refusal(tenant, sso, require_sso=True)
    assert isinstance(refusal, Refusal)
    assert refusal.code == code
    assert words in refusal.message and "acme" in refusal.message


def test_every_gate_open() -> None:
    assert scim_refusal(OK, ACTIVE, require_sso=True) is None


def test_require_sso_off_lifts_only_the_sso_gate() -> None:
    assert scim_refusal(OK, None, require_sso=False) is None
    assert scim_refusal(OK, replace(ACTIVE, state="configured"), require_sso=False) is None
    refusal = scim_refusal(replace(OK, status="suspended"), None, require_sso=False)
    assert refusal is not None and refusal.code == "tenant_suspended"


def test_the_first_failing_gate_is_named() -> None:
    everything_wrong = Tenant("t", "acme", "Acme", "suspended", False, False)
    refusal = scim_refusal(everything_wrong, None, require_sso=True)
    assert refusal is not None and refusal.code == "tenant_suspended"
    refusal = scim_refusal(replace(everything_wrong, status="active"), None, require_sso=True)
    assert refusal is not None and refusal.code == "plan_excludes_scim"


def test_domain_errors_are_one_family() -> None:
    assert issubclass(TenantExists, DomainError) and issubclass(NotFound, DomainError)
    error = InvalidInput("bad", code="bad_thing")
    assert (str(error), error.code, error.status, error.message) == ("bad", "bad_thing", 400, "bad")
