"""SCIM bearer tokens. A token is `scimhub_` + 43 URL-safe characters (256 random bits),
shown once; only its SHA-512 digest is stored (a 256-bit random token needs no slow
hash: there is nothing to brute-force), with its prefix and last 4 characters to
recognise it in listings. An admin may instead register the digest of a token they made
themselves (`import_token_hash`).

A request is authenticated with one indexed lookup of the digest joined to the tenant
(by slug) and its SSO connection; nothing about a token's validity is cached, so a
revocation holds from the very next request on every instance. Usage (`last_used_at`,
`use_count`) is counted in memory and written in batches (`UsageRecorder`)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Row, Select, bindparam, case, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from scimhub.db.engine import Database
from scimhub.db.prepared import Prepared
from scimhub.db.tables import UTCDateTime, sso_connections, tenants, tokens
from scimhub.events import kinds
from scimhub.events.outbox import emit
from scimhub.resources.changes import Origin
from scimhub.tenancy.errors import Conflict, GateRefused, InvalidInput, NotFound
from scimhub.tenancy.gates import scim_refusal
from scimhub.tenancy.sso import Protocol, SsoConnection, State, get_connection
from scimhub.tenancy.tenants import SLUG, Tenant, tenant_from_row

log = logging.getLogger(__name__)

TOKEN_PREFIX = "scimhub_"
# Characters of a token kept to recognise it: "scimhub_" and 4 random ones.
PREFIX_LENGTH = 12
IMPORTED_PREFIX = "sha512:"
SHA512_HEX = re.compile(r"^[0-9a-f]{128}$")

# The SCIM endpoint names (lower-case): a first path segment that is none of these is a
# provider segment, so no provider may be called like one.
SCIM_ENDPOINTS = frozenset(
    {
        "users",
        "groups",
        "bulk",
        ".search",
        "me",
        "serviceproviderconfig",
        "resourcetypes",
        "schemas",
    }
)


def digest(token: str) -> str:
    return hashlib.sha512(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_secret(prefix: str) -> str:
    """`prefix` + 43 URL-safe characters: 256 bits from the OS's CSPRNG."""
    return prefix + secrets.token_urlsafe(32)


def normalize_provider(provider: str | None) -> str | None:
    """A provider name as it is stored and matched: lower-case, slug-like (1-63 letters,
    digits or '-'), not a SCIM endpoint name. None stays None; InvalidInput otherwise."""
    if provider is None:
        return None
    folded = provider.lower() if isinstance(provider, str) else ""
    if not SLUG.fullmatch(folded) or folded in SCIM_ENDPOINTS:
        raise InvalidInput(
            f"invalid provider {provider!r}: 1-63 letters, digits or '-', "
            "and not a SCIM endpoint name",
            code="invalid_provider",
        )
    return folded


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: str
    tenant_id: str
    prefix: str
    last4: str | None
    created_at: datetime
    created_by: str | None
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    use_count: int
    provider: str | None
    imported: bool
    revoked_by: str | None = None
    # Set when the token was regenerated: the id of the token that replaced it.
    replaced_by: str | None = None

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= datetime.now(UTC)

    @property
    def revoked(self) -> bool:
        """No longer accepted: revoked, or past its expiry (also a grace period's end)."""
        return self.revoked_at is not None or self.expired

    @property
    def status(self) -> str:
        """One of "active", "revoked" or "expired", for listings."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expired else "active"


def _info(row: Row[Any]) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        tenant_id=row.tenant_id,
        prefix=row.prefix,
        last4=row.last4,
        created_at=row.created_at,
        created_by=row.created_by,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
        use_count=int(row.use_count or 0),
        provider=row.provider,
        imported=bool(row.imported),
        revoked_by=row.revoked_by,
        replaced_by=row.replaced_by,
    )


def _event_data(info: TokenInfo) -> dict[str, Any]:
    """A token as events show it: never the token or its digest."""
    return {
        "id": info.id,
        "prefix": info.prefix,
        "last4": info.last4,
        "provider": info.provider,
        "created_by": info.created_by,
        "created_at": info.created_at.isoformat(),
        "expires_at": info.expires_at.isoformat() if info.expires_at else None,
        "imported": info.imported,
        "revoked_by": info.revoked_by,
        "replaced_by": info.replaced_by,
    }


def _emit(conn: Connection, kind: str, info: TokenInfo, actor: str | None, **extra: Any) -> None:
    # In the caller's transaction: the event commits with the token change or not at all.
    emit(
        conn,
        info.tenant_id,
        kind,
        resource_type="Token",
        resource_id=info.id,
        data=_event_data(info),
        origin=Origin(actor=actor),
        extra=extra or None,
    )


def _valid_id(id: object) -> bool:
    return isinstance(id, str) and 0 < len(id) <= 36 and "\x00" not in id


def get_token(conn: Connection, tenant_id: str, token_id: str) -> TokenInfo | None:
    if not _valid_id(token_id):
        return None
    row = conn.execute(
        select(tokens).where(tokens.c.id == token_id, tokens.c.tenant_id == tenant_id)
    ).first()
    return _info(row) if row else None


def _require_token(conn: Connection, tenant_id: str, token_id: str) -> TokenInfo:
    found = get_token(conn, tenant_id, token_id)
    if found is None:
        raise NotFound(f"no token {token_id!r} in this tenant", code="token_not_found")
    return found


def list_tokens(conn: Connection, tenant_id: str) -> list[TokenInfo]:
    """Every token of the tenant, revoked and expired ones included, oldest first."""
    rows = conn.execute(
        select(tokens)
        .where(tokens.c.tenant_id == tenant_id)
        .order_by(tokens.c.created_at, tokens.c.id)
    )
    return [_info(r) for r in rows]


def _check_gates(conn: Connection, tenant: Tenant, require_sso: bool) -> None:
    refusal = scim_refusal(tenant, get_connection(conn, tenant.id), require_sso=require_sso)
    if refusal is not None:
        raise GateRefused(refusal.message, code=refusal.code)


def _check_expiry(expires_at: datetime | None, now: datetime) -> None:
    if expires_at is None:
        return
    if expires_at.tzinfo is None:
        raise InvalidInput("expires_at must carry a time zone", code="invalid_expiry")
    if expires_at <= now:
        raise InvalidInput("expires_at must be in the future", code="invalid_expiry")


def create_token(
    conn: Connection,
    tenant_id: str,
    *,
    expires_at: datetime | None = None,
    created_by: str | None = None,
    provider: str | None = None,
    now: datetime | None = None,
) -> str:
    """Store a new token for the tenant and return its plaintext (the only time it
    exists). No gates: `issue_token` is the checked way; this is its storage step (and
    what tests and benchmarks use to set up)."""
    token, _ = _insert_token(
        conn,
        tenant_id,
        expires_at=expires_at,
        created_by=created_by,
        provider=normalize_provider(provider),
        now=now or datetime.now(UTC),
    )
    return token


def _insert_token(
    conn: Connection,
    tenant_id: str,
    *,
    expires_at: datetime | None,
    created_by: str | None,
    provider: str | None,
    now: datetime,
) -> tuple[str, TokenInfo]:
    token = new_secret(TOKEN_PREFIX)
    info = TokenInfo(
        id=str(uuid.uuid4()),
        tenant_id=tenant_id,
        prefix=token[:PREFIX_LENGTH],
        last4=token[-4:],
        created_at=now,
        created_by=created_by,
        expires_at=expires_at,
        revoked_at=None,
        last_used_at=None,
        use_count=0,
        provider=provider,
        imported=False,
    )
    conn.execute(
        insert(tokens).values(
            id=info.id,
            tenant_id=tenant_id,
            prefix=info.prefix,
            last4=info.last4,
            hash=digest(token),
            created_at=now,
            created_by=created_by,
            expires_at=expires_at,
            use_count=0,
            provider=provider,
            imported=False,
        )
    )
    return token, info


def issue_token(
    conn: Connection,
    tenant: Tenant,
    *,
    created_by: str | None,
    expires_at: datetime | None = None,
    provider: str | None = None,
    require_sso: bool = True,
    now: datetime | None = None,
) -> tuple[str, TokenInfo]:
    """A new token when every gate passes (GateRefused with the refusal's code
    otherwise). InvalidInput for a past expiry or a malformed provider."""
    now = now or datetime.now(UTC)
    _check_gates(conn, tenant, require_sso)
    _check_expiry(expires_at, now)
    token, info = _insert_token(
        conn,
        tenant.id,
        expires_at=expires_at,
        created_by=created_by,
        provider=normalize_provider(provider),
        now=now,
    )
    _emit(conn, kinds.TOKEN_CREATED, info, created_by)
    return token, info


def regenerate_token(
    conn: Connection,
    tenant: Tenant,
    token_id: str,
    *,
    grace: timedelta | None,
    created_by: str | None,
    require_sso: bool = True,
    now: datetime | None = None,
) -> tuple[str, TokenInfo]:
    """Issues a new token in place of `token_id`: same provider binding and the same
    lifetime (from now) when the old one had an expiry. The old token is revoked at
    once (`grace` None or zero) or keeps working until now + grace (its expiry moves
    there, never later than it was). NotFound; Conflict ("token_revoked",
    "token_replaced") for a token that is no longer live; GateRefused."""
    now = now or datetime.now(UTC)
    if grace is not None and grace < timedelta(0):
        raise InvalidInput("the grace period cannot be negative", code="invalid_grace")
    old = _require_token(conn, tenant.id, token_id)
    _check_gates(conn, tenant, require_sso)
    if old.revoked_at is not None or (old.expires_at is not None and old.expires_at <= now):
        raise Conflict("the token is revoked or expired: issue a new one", code="token_revoked")
    if old.replaced_by is not None:
        raise Conflict(
            f"the token was regenerated already (as {old.replaced_by})", code="token_replaced"
        )
    expires_at = None
    if old.expires_at is not None:
        expires_at = now + (old.expires_at - old.created_at)
    token, info = _insert_token(
        conn,
        tenant.id,
        expires_at=expires_at,
        created_by=created_by,
        provider=old.provider,
        now=now,
    )
    values: dict[str, Any] = {"replaced_by": info.id}
    if grace:
        end = now + grace
        values["expires_at"] = min(end, old.expires_at) if old.expires_at else end
    else:
        values["revoked_at"] = now
        values["revoked_by"] = created_by
    changed = conn.execute(
        update(tokens)
        .where(
            tokens.c.id == old.id,
            tokens.c.replaced_by.is_(None),
            tokens.c.revoked_at.is_(None),
        )
        .values(**values)
    ).rowcount
    if not changed:  # a concurrent regenerate or revoke won
        raise Conflict("the token was changed concurrently; try again", code="token_replaced")
    _emit(
        conn,
        kinds.TOKEN_REGENERATED,
        info,
        created_by,
        replaces={"id": old.id, "prefix": old.prefix, "last4": old.last4},
        grace_until=values["expires_at"].isoformat() if grace else None,
    )
    return token, info


def revoke_token(
    conn: Connection, tenant_id: str, token_id: str, *, revoked_by: str | None
) -> TokenInfo:
    """Revokes the token now (idempotent: a revoked token keeps its first revocation).
    NotFound ("token_not_found")."""
    _require_token(conn, tenant_id, token_id)
    revoked = conn.execute(
        update(tokens)
        .where(tokens.c.id == token_id, tokens.c.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC), revoked_by=revoked_by)
    ).rowcount
    info = _require_token(conn, tenant_id, token_id)
    if revoked:  # the first revocation only: revoking again changes nothing
        _emit(conn, kinds.TOKEN_REVOKED, info, revoked_by)
    return info


def import_token_hash(
    conn: Connection,
    tenant: Tenant,
    sha512_hex: str,
    *,
    created_by: str | None,
    provider: str | None = None,
    expires_at: datetime | None = None,
    require_sso: bool = True,
    now: datetime | None = None,
) -> TokenInfo:
    """Registers the SHA-512 hex digest of a token the admin generated (bring your own).
    InvalidInput unless it is 128 hex digits (either case; stored lower-case);
    Conflict ("token_exists") when the digest is registered already; GateRefused."""
    now = now or datetime.now(UTC)
    hex_digest = sha512_hex.strip().lower() if isinstance(sha512_hex, str) else ""
    if not SHA512_HEX.fullmatch(hex_digest):
        raise InvalidInput("expected a SHA-512 digest: 128 hexadecimal digits", code="invalid_hash")
    _check_gates(conn, tenant, require_sso)
    _check_expiry(expires_at, now)
    info = TokenInfo(
        id=str(uuid.uuid4()),
        tenant_id=tenant.id,
        prefix=IMPORTED_PREFIX + hex_digest[:8],
        last4=None,
        created_at=now,
        created_by=created_by,
        expires_at=expires_at,
        revoked_at=None,
        last_used_at=None,
        use_count=0,
        provider=normalize_provider(provider),
        imported=True,
    )
    try:
        with conn.begin_nested():
            conn.execute(
                insert(tokens).values(
                    id=info.id,
                    tenant_id=tenant.id,
                    prefix=info.prefix,
                    last4=None,
                    hash=hex_digest,
                    created_at=now,
                    created_by=created_by,
                    expires_at=expires_at,
                    use_count=0,
                    provider=info.provider,
                    imported=True,
                )
            )
    except IntegrityError as exc:
        raise Conflict("this digest is registered already", code="token_exists") from exc
    _emit(conn, kinds.TOKEN_CREATED, info, created_by)
    return info


# -- authentication ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Authenticated:
    tenant: Tenant
    token_id: str
    sso: SsoConnection | None
    # The provider the token is bound to (None: any URL of its tenant).
    token_provider: str | None = None
    # When the token stops being live (None: never, unless revoked).
    expires_at: datetime | None = None

    def live_at(self, now: datetime) -> bool:
        return self.expires_at is None or self.expires_at > now


def _authenticate_statement() -> Select[Any]:
    """The token, its tenant and the tenant's SSO connection in one indexed lookup. Built
    once: it runs on every SCIM request, and building a statement costs more Python
    than the database takes to answer it."""
    return (
        select(
            tokens.c.id.label("token_id"),
            tokens.c.hash,
            tokens.c.provider,
            tokens.c.expires_at,
            tenants.c.id,
            tenants.c.slug,
            tenants.c.name,
            tenants.c.status,
            tenants.c.plan_includes_scim,
            tenants.c.scim_enabled,
            tenants.c.created_at,
            sso_connections.c.protocol.label("sso_protocol"),
            sso_connections.c.idp_id.label("sso_idp_id"),
            sso_connections.c.metadata_url.label("sso_metadata_url"),
            sso_connections.c.state.label("sso_state"),
            sso_connections.c.updated_at.label("sso_updated_at"),
        )
        .select_from(
            tokens.join(tenants, tenants.c.id == tokens.c.tenant_id).outerjoin(
                sso_connections, sso_connections.c.tenant_id == tenants.c.id
            )
        )
        .where(
            tokens.c.hash == bindparam("digest"),
            tenants.c.slug == bindparam("slug"),
            tokens.c.revoked_at.is_(None),
            or_(tokens.c.expires_at.is_(None), tokens.c.expires_at > bindparam("now")),
        )
    )


# Sent straight to the driver (db/prepared.py): it runs on every SCIM request.
_AUTHENTICATE = Prepared(_authenticate_statement())


def authenticate(
    conn: Connection,
    tenant_slug: str,
    presented: str,
    *,
    provider: str | None = None,
    now: datetime | None = None,
) -> Authenticated | None:
    """The tenant (and its SSO connection) when `presented` is a live token of tenant
    `tenant_slug` usable at `provider` (the URL's provider segment, or None for the bare
    URL): one lookup by the unique digest, joined to the tenant by slug. None for an
    unknown, revoked or expired token, a token of another tenant, or a token bound to a
    provider other than `provider`. The gates are the caller's (`gates.scim_refusal`)."""
    if not isinstance(tenant_slug, str) or not SLUG.fullmatch(tenant_slug):
        return None
    now = now or datetime.now(UTC)
    presented_digest = digest(presented)
    row = _AUTHENTICATE.first(conn, {"digest": presented_digest, "slug": tenant_slug, "now": now})
    # The index found the row by equality; compare the digests again in constant time
    # so that nothing downstream depends on a short-circuiting string comparison.
    if row is None or not hmac.compare_digest(row.hash, presented_digest):
        return None
    if row.provider is not None and row.provider != provider:
        return None
    sso = None
    if row.sso_protocol is not None:
        sso = SsoConnection(
            tenant_id=row.id,
            protocol=cast(Protocol, row.sso_protocol),
            idp_id=row.sso_idp_id,
            metadata_url=row.sso_metadata_url,
            state=cast(State, row.sso_state),
            updated_at=row.sso_updated_at,
        )
    return Authenticated(tenant_from_row(row), row.token_id, sso, row.provider, row.expires_at)


# -- usage ---------------------------------------------------------------------------------


class UsageRecorder:
    """Counts token uses in memory and writes them in batches: a write per SCIM request
    would serialize SQLite's readers behind the writer lock and add a round trip on
    PostgreSQL. `record` is cheap and thread-safe; `flush(db)` writes what was counted
    (call it from a background thread every few seconds, see `start`, and at shutdown).
    Counts from a failed flush are kept for the next one."""

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._pending: dict[str, tuple[int, datetime]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def record(self, token_id: str) -> None:
        at = self._clock()
        with self._lock:
            count, last = self._pending.get(token_id, (0, at))
            self._pending[token_id] = (count + 1, max(last, at))

    def pending(self) -> dict[str, int]:
        with self._lock:
            return {k: n for k, (n, _) in self._pending.items()}

    def flush(self, db: Database) -> int:
        """Writes the counted uses; returns how many tokens were updated."""
        with self._lock:
            batch, self._pending = self._pending, {}
        if not batch:
            return 0
        at = bindparam("b_at", type_=UTCDateTime())
        statement = (
            update(tokens)
            .where(tokens.c.id == bindparam("b_id"))
            .values(
                use_count=tokens.c.use_count + bindparam("b_n"),
                last_used_at=case(
                    (
                        or_(tokens.c.last_used_at.is_(None), tokens.c.last_used_at < at),
                        at,
                    ),
                    else_=tokens.c.last_used_at,
                ),
            )
        )
        params = [
            {"b_id": token_id, "b_n": n, "b_at": last}
            for token_id, (n, last) in sorted(batch.items())
        ]
        try:
            with db.write() as conn:
                conn.execute(statement, params)
        except BaseException:
            with self._lock:  # keep the counts for the next flush
                for token_id, (n, last) in batch.items():
                    count, seen = self._pending.get(token_id, (0, last))
                    self._pending[token_id] = (count + n, max(seen, last))
            raise
        return len(batch)

    def start(self, db: Database, interval: float) -> None:
        """Flushes every `interval` seconds from a daemon thread until `stop`."""
        if self._thread is not None:
            return
        self._stop.clear()

        def _loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.flush(db)
                except Exception:
                    log.exception("writing token usage failed; retrying at the next flush")

        self._thread = threading.Thread(target=_loop, name="scimhub-token-usage", daemon=True)
        self._thread.start()

    def stop(self, db: Database) -> None:
        """Stops the thread (if started) and writes what is left."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join(timeout=30)
        try:
            self.flush(db)
        except Exception:
            log.exception("writing token usage at shutdown failed")
