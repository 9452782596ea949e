"""SCIM tokens: issue, list, authenticate, regenerate (with grace), revoke, expire, bring
your own digest, provider binding and batched usage; on both backends."""

from __future__ import annotations

import hashlib
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from scimhub.db.engine import Database
from scimhub.db.tables import tokens
from scimhub.tenancy.errors import Conflict, GateRefused, InvalidInput, NotFound
from scimhub.tenancy.sso import set_connection
from scimhub.tenancy.tenants import Tenant, create_tenant, update_tenant
from scimhub.tenancy.tokens import (
    TokenInfo,
    UsageRecorder,
    authenticate,
    create_token,
    digest,
    get_token,
    import_token_hash,
    issue_token,
    list_tokens,
    regenerate_token,
    revoke_token,
)

TOKEN = re.compile(r"^scimhub_[A-Za-z0-9_-]{43}$")


def _issue(db: Database, tenant: Tenant, **kw: object) -> tuple[str, TokenInfo]:
    with db.write() as conn:
        return issue_token(conn, tenant, created_by="tester", **kw)  # type: ignore[arg-type]


def _auth(db: Database, token: str, slug: str = "acme", **kw: object) -> str | None:
    """The token id `authenticate` finds, or None."""
    with db.read() as conn:
        found = authenticate(conn, slug, token, **kw)  # type: ignore[arg-type]
    return found.token_id if found else None


def test_issue_shows_the_token_once_and_stores_its_digest(db: Database, tenant: Tenant) -> None:
    token, info = _issue(db, tenant)
    assert TOKEN.match(token)  # "scimhub_" + 43 base64url characters = 256 random bits
    assert (info.prefix, info.last4) == (token[:12], token[-4:])
    assert (info.created_by, info.use_count, info.imported, info.provider) == (
        "tester",
        0,
        False,
        None,
    )
    assert not info.revoked and info.expires_at is None and info.status == "active"
    with db.read() as conn:
        row = conn.execute(select(tokens).where(tokens.c.id == info.id)).one()
        assert row.hash == hashlib.sha512(token.encode()).hexdigest()
        # The secret part of the token is nowhere in the row.
        assert all(token[12:-4] not in str(value) for value in row)
        assert list_tokens(conn, tenant.id) == [info]
        assert get_token(conn, tenant.id, info.id) == info
    assert _auth(db, token) == info.id


def test_tokens_are_distinct(db: Database, tenant: Tenant) -> None:
    issued = {_issue(db, tenant)[0] for _ in range(20)}
    assert len(issued) == 20


def test_authenticate_returns_the_tenant_and_its_sso_connection(
    db: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    token, info = _issue(db, tenant)
    other, _ = _issue(db, other_tenant)
    with db.read() as conn:
        found = authenticate(conn, "acme", token)
        assert found is not None
        assert (found.tenant, found.token_id) == (tenant, info.id)
        assert found.sso is not None and found.sso.state == "active"
        # Another tenant's token, a tampered or truncated one, unknown and odd slugs.
        assert authenticate(conn, "globex", token) is None
        assert authenticate(conn, "acme", other) is None
        assert authenticate(conn, "acme", token[:-1]) is None
        assert authenticate(conn, "acme", token + "x") is None
        assert authenticate(conn, "nope", token) is None
        assert authenticate(conn, "acme\x00", token) is None
        assert authenticate(conn, "acme", "") is None


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"status": "suspended"}, "tenant_suspended"),
        ({"scim_enabled": False}, "scim_disabled"),
        ({"plan_includes_scim": False}, "plan_excludes_scim"),
    ],
)
def test_issuing_is_gated(
    db: Database, tenant: Tenant, change: dict[str, object], code: str
) -> None:
    with db.write() as conn:
        changed = update_tenant(conn, "acme", **change)  # type: ignore[arg-type]
    for attempt in (
        lambda conn: issue_token(conn, changed, created_by="x"),
        lambda conn: import_token_hash(conn, changed, "a" * 128, created_by="x"),
    ):
        with db.write() as conn, pytest.raises(GateRefused) as refused:
            attempt(conn)
        assert refused.value.code == code and refused.value.status == 409
    with db.read() as conn:
        assert list_tokens(conn, tenant.id) == []


def test_issuing_needs_an_active_sso_connection_unless_lifted(db: Database) -> None:
    with db.write() as conn:
        bare = create_tenant(conn, "initech")
    with db.write() as conn, pytest.raises(GateRefused) as refused:
        issue_token(conn, bare, created_by="x")
    assert refused.value.code == "sso_not_configured"
    with db.write() as conn:
        set_connection(conn, bare.id, protocol="saml", idp_id="urn:initech")
    with db.write() as conn, pytest.raises(GateRefused) as refused:
        issue_token(conn, bare, created_by="x")
    assert refused.value.code == "sso_not_active"
    token, _ = _issue(db, bare, require_sso=False)
    assert _auth(db, token, "initech") is not None


def test_revoke_takes_effect_at_once_and_is_idempotent(db: Database, tenant: Tenant) -> None:
    token, info = _issue(db, tenant)
    keep, _ = _issue(db, tenant)
    with db.write() as conn:
        revoked = revoke_token(conn, tenant.id, info.id, revoked_by="alice")
    assert revoked.revoked and revoked.status == "revoked" and revoked.revoked_by == "alice"
    assert _auth(db, token) is None
    assert _auth(db, keep) is not None
    with db.write() as conn:
        again = revoke_token(conn, tenant.id, info.id, revoked_by="bob")
    assert (again.revoked_at, again.revoked_by) == (revoked.revoked_at, "alice")


def test_revoke_and_regenerate_only_in_the_tokens_tenant(
    db: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    token, info = _issue(db, tenant)
    for attempt in (
        lambda conn: revoke_token(conn, other_tenant.id, info.id, revoked_by="x"),
        lambda conn: regenerate_token(conn, other_tenant, info.id, grace=None, created_by="x"),
        lambda conn: revoke_token(conn, tenant.id, "no-such-token", revoked_by="x"),
        lambda conn: revoke_token(conn, tenant.id, "bad\x00id", revoked_by="x"),
    ):
        with db.write() as conn, pytest.raises(NotFound) as missing:
            attempt(conn)
        assert missing.value.code == "token_not_found"
    assert _auth(db, token) == info.id


def test_expiry(db: Database, tenant: Tenant) -> None:
    now = datetime.now(UTC)
    token, info = _issue(db, tenant, expires_at=now + timedelta(hours=1))
    assert _auth(db, token) == info.id
    assert _auth(db, token, now=now + timedelta(minutes=59)) == info.id
    assert _auth(db, token, now=now + timedelta(hours=1)) is None
    with db.write() as conn, pytest.raises(InvalidInput):
        issue_token(conn, tenant, created_by="x", expires_at=now - timedelta(seconds=1))
    with db.write() as conn, pytest.raises(InvalidInput):
        issue_token(conn, tenant, created_by="x", expires_at=datetime(2099, 1, 1))  # naive


def test_an_expired_token_lists_as_revoked(db: Database, tenant: Tenant) -> None:
    with db.write() as conn:
        create_token(conn, tenant.id, expires_at=datetime.now(UTC) + timedelta(milliseconds=50))
    time.sleep(0.1)
    with db.read() as conn:
        [info] = list_tokens(conn, tenant.id)
    assert info.revoked and info.status == "expired" and info.revoked_at is None


def test_regenerate_without_grace(db: Database, tenant: Tenant) -> None:
    old, info = _issue(db, tenant, provider="okta")
    with db.write() as conn:
        new, new_info = regenerate_token(conn, tenant, info.id, grace=None, created_by="carol")
    assert TOKEN.match(new) and new != old
    assert (new_info.provider, new_info.created_by, new_info.expires_at) == ("okta", "carol", None)
    assert _auth(db, old, provider="okta") is None
    assert _auth(db, new, provider="okta") == new_info.id
    with db.read() as conn:
        old_now = get_token(conn, tenant.id, info.id)
    assert old_now is not None and old_now.revoked_at is not None
    assert (old_now.replaced_by, old_now.revoked_by) == (new_info.id, "carol")
    # A zero grace is no grace.
    with db.write() as conn:
        newer, _ = regenerate_token(conn, tenant, new_info.id, grace=timedelta(0), created_by="c")
    assert _auth(db, new, provider="okta") is None
    assert _auth(db, newer, provider="okta") is not None


def test_regenerate_with_grace_keeps_the_old_token_until_it_ends(
    db: Database, tenant: Tenant
) -> None:
    old, info = _issue(db, tenant)
    now = datetime.now(UTC)
    with db.write() as conn:
        new, new_info = regenerate_token(
            conn, tenant, info.id, grace=timedelta(hours=24), created_by="x", now=now
        )
    # Both work during the grace period; only the new one after it.
    assert _auth(db, old) == info.id and _auth(db, new) == new_info.id
    later = now + timedelta(hours=23, minutes=59)
    assert _auth(db, old, now=later) == info.id
    end = now + timedelta(hours=24)
    assert _auth(db, old, now=end) is None
    assert _auth(db, new, now=end) == new_info.id
    with db.read() as conn:
        old_now = get_token(conn, tenant.id, info.id)
    assert old_now is not None and old_now.expires_at == end and old_now.revoked_at is None
    # Revoking during the grace period ends it at once.
    with db.write() as conn:
        revoke_token(conn, tenant.id, info.id, revoked_by="x")
    assert _auth(db, old) is None


def test_regenerate_keeps_the_lifetime_and_never_extends_the_old_token(
    db: Database, tenant: Tenant
) -> None:
    now = datetime.now(UTC)
    _, info = _issue(db, tenant, expires_at=now + timedelta(hours=1), now=now)
    later = now + timedelta(minutes=30)
    with db.write() as conn:
        _, new_info = regenerate_token(
            conn, tenant, info.id, grace=timedelta(days=7), created_by="x", now=later
        )
        old_now = get_token(conn, tenant.id, info.id)
    assert new_info.expires_at == later + timedelta(hours=1)
    # The grace would end after the old expiry: the old expiry stands.
    assert old_now is not None and old_now.expires_at == info.expires_at


def test_regenerate_refuses_dead_or_replaced_tokens(db: Database, tenant: Tenant) -> None:
    _, info = _issue(db, tenant)
    _, revoked = _issue(db, tenant)
    with db.write() as conn:
        regenerate_token(conn, tenant, info.id, grace=timedelta(hours=1), created_by="x")
        revoke_token(conn, tenant.id, revoked.id, revoked_by="x")
    with db.write() as conn, pytest.raises(Conflict) as replaced:
        regenerate_token(conn, tenant, info.id, grace=None, created_by="x")
    assert replaced.value.code == "token_replaced"
    with db.write() as conn, pytest.raises(Conflict) as dead:
        regenerate_token(conn, tenant, revoked.id, grace=None, created_by="x")
    assert dead.value.code == "token_revoked"
    with db.write() as conn, pytest.raises(InvalidInput):
        regenerate_token(conn, tenant, info.id, grace=timedelta(seconds=-1), created_by="x")


def test_regenerate_is_gated(db: Database, tenant: Tenant) -> None:
    old, info = _issue(db, tenant)
    with db.write() as conn:
        suspended = update_tenant(conn, "acme", status="suspended")
    with db.write() as conn, pytest.raises(GateRefused) as refused:
        regenerate_token(conn, suspended, info.id, grace=None, created_by="x")
    assert refused.value.code == "tenant_suspended"
    with db.read() as conn:
        assert [t.id for t in list_tokens(conn, tenant.id)] == [info.id]
        assert authenticate(conn, "acme", old) is not None  # the token itself is fine


# -- bring your own ------------------------------------------------------------------------


def test_import_a_digest(db: Database, tenant: Tenant) -> None:
    mine = "my-own-secret-generated-elsewhere-" + "z" * 30
    upper = hashlib.sha512(mine.encode()).hexdigest().upper()
    with db.write() as conn:
        info = import_token_hash(conn, tenant, f"  {upper}\n", created_by="dave", provider="Okta")
    assert info.imported and info.last4 is None and info.provider == "okta"
    assert info.prefix == "sha512:" + upper[:8].lower()
    with db.read() as conn:
        row = conn.execute(select(tokens.c.hash).where(tokens.c.id == info.id)).one()
        assert list_tokens(conn, tenant.id) == [info]
    assert row.hash == upper.lower()
    assert _auth(db, mine, provider="okta") == info.id
    assert _auth(db, mine) is None  # bound to okta
    with db.write() as conn, pytest.raises(Conflict) as duplicate:
        import_token_hash(conn, tenant, upper.lower(), created_by="x")
    assert duplicate.value.code == "token_exists"
    # The transaction survives the refused duplicate (a savepoint on PostgreSQL).
    with db.write() as conn:
        import_token_hash(conn, tenant, "0" * 128, created_by="x")
        assert len(list_tokens(conn, tenant.id)) == 2


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "a" * 127,
        "a" * 129,
        "g" * 128,
        "a" * 64,  # SHA-256 length
        "0x" + "a" * 126,
        "a" * 127 + "\x00",
        hashlib.sha512(b"x").hexdigest()[:-1] + " ",
    ],
)
def test_import_refuses_anything_but_a_sha512_hex_digest(
    db: Database, tenant: Tenant, bad: str
) -> None:
    with db.write() as conn, pytest.raises(InvalidInput) as refused:
        import_token_hash(conn, tenant, bad, created_by="x")
    assert refused.value.code == "invalid_hash"


# -- provider binding ----------------------------------------------------------------------


def test_a_bound_token_works_only_at_its_provider(db: Database, tenant: Tenant) -> None:
    bound, info = _issue(db, tenant, provider="entra")
    free, free_info = _issue(db, tenant)
    assert info.provider == "entra"
    assert _auth(db, bound, provider="entra") == info.id
    assert _auth(db, bound, provider="okta") is None
    assert _auth(db, bound) is None
    # An unbound token works at every provider of its tenant and at the bare URL.
    assert _auth(db, free, provider="okta") == free_info.id
    assert _auth(db, free) == free_info.id


@pytest.mark.parametrize("bad", ["", "a_b", "users", "Groups", ".search", "x" * 64, "-a"])
def test_provider_names_are_checked(db: Database, tenant: Tenant, bad: str) -> None:
    with db.write() as conn, pytest.raises(InvalidInput) as refused:
        issue_token(conn, tenant, created_by="x", provider=bad)
    assert refused.value.code == "invalid_provider"


# -- usage ---------------------------------------------------------------------------------


def _usage(db: Database, token_id: str) -> tuple[int, datetime | None]:
    with db.read() as conn:
        row = conn.execute(
            select(tokens.c.use_count, tokens.c.last_used_at).where(tokens.c.id == token_id)
        ).one()
    return row.use_count, row.last_used_at


def test_usage_is_counted_in_memory_and_written_in_batches(db: Database, tenant: Tenant) -> None:
    _, a = _issue(db, tenant)
    _, b = _issue(db, tenant)
    t0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    moments = iter([t0, t0 + timedelta(seconds=5), t0 + timedelta(seconds=2), t0])
    recorder = UsageRecorder(clock=lambda: next(moments))
    recorder.record(a.id)
    recorder.record(a.id)
    recorder.record(a.id)
    recorder.record(b.id)
    assert _usage(db, a.id) == (0, None)  # nothing written yet
    assert recorder.pending() == {a.id: 3, b.id: 1}
    assert recorder.flush(db) == 2
    assert _usage(db, a.id) == (3, t0 + timedelta(seconds=5))  # the latest use
    assert _usage(db, b.id) == (1, t0)
    assert recorder.flush(db) == 0 and recorder.pending() == {}
    # Another instance's recorder adds to the count; an older use never moves it back.
    other = UsageRecorder(clock=lambda: t0 - timedelta(hours=1))
    other.record(a.id)
    other.flush(db)
    assert _usage(db, a.id) == (4, t0 + timedelta(seconds=5))
    with db.read() as conn:
        assert get_token(conn, tenant.id, a.id) == TokenInfo(
            **{**_fields(a), "use_count": 4, "last_used_at": t0 + timedelta(seconds=5)}
        )


def _fields(info: TokenInfo) -> dict[str, object]:
    return {name: getattr(info, name) for name in TokenInfo.__dataclass_fields__}


def test_a_failed_flush_keeps_the_counts(db: Database, tenant: Tenant, tmp_path: Path) -> None:
    _, info = _issue(db, tenant)
    recorder = UsageRecorder()
    recorder.record(info.id)
    broken = Database(f"sqlite:///{tmp_path}/not-migrated.db")
    try:
        with pytest.raises(Exception, match="tokens"):
            recorder.flush(broken)
    finally:
        broken.dispose()
    recorder.record(info.id)
    assert recorder.pending() == {info.id: 2}
    recorder.flush(db)
    assert _usage(db, info.id)[0] == 2


def test_the_background_flush_and_the_final_one(db: Database, tenant: Tenant) -> None:
    _, info = _issue(db, tenant)
    recorder = UsageRecorder()
    recorder.start(db, 0.05)
    try:
        recorder.record(info.id)
        deadline = time.monotonic() + 10
        while _usage(db, info.id)[0] != 1:
            assert time.monotonic() < deadline, "the background thread did not flush"
            time.sleep(0.02)
        recorder.record(info.id)
    finally:
        recorder.stop(db)
    assert _usage(db, info.id)[0] == 2
    assert not any(t.name == "scimhub-token-usage" for t in threading.enumerate())


def test_digest_is_sha512_hex() -> None:
    assert digest("abc") == hashlib.sha512(b"abc").hexdigest()
