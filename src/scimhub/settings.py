"""The one typed settings object. Every knob is read here, from `SCIMHUB_*` variables,
and passed down; nothing else reads the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

DEFAULT_DATABASE_URL = "sqlite:///./var/scimhub.db"


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    # One line per request on stdout from `scimhub serve` (uvicorn's access log). Off by
    # default, as in gunicorn: it cost ~10% of a POST /Users here, every SCIM write and
    # refusal is in the audit trail with its request id, and a proxy in front usually
    # logs requests already. `make run` turns it on.
    access_log: bool = False
    # Public origin used in meta.location and $ref (e.g. https://scim.example.com);
    # empty: taken from each request.
    public_url: str = ""

    # RFC 7644 §3.4.2.4 and RFC 9865: page sizes.
    default_page_size: int = 100
    max_page_size: int = 1000
    # RFC 7644 §3.7: advertised in /ServiceProviderConfig and enforced.
    bulk_max_operations: int = 1000
    bulk_max_payload_bytes: int = 1_048_576
    # 413 above this size for any other request body.
    max_request_bytes: int = 1_048_576
    # Group write responses (PUT, PATCH, POST) list members only up to this many, unless
    # the client asks for `members` with `attributes=`; see docs/architecture.md.
    max_inline_members: int = 1000
    # Secret for signing cursors (RFC 9865); empty: derived from the database URL.
    cursor_secret: str = ""
    # SCIM is served, and tokens issued, only while the tenant's SSO connection is
    # active (tenancy/gates.py); False lifts that one gate for the whole deployment.
    require_sso: bool = True
    # Token usage (last_used_at, use_count) is counted in memory and written this often.
    token_usage_flush_seconds: float = 5.0
    # Retained (deprovisioned) accounts past their tenant's retention are purged this
    # often by `scimhub serve` (scimhub/lifecycle/retention.py); 0 turns it off.
    lifecycle_purge_seconds: float = 3600.0

    # -- events and webhooks (events/) --
    # Run the delivery worker inside `scimhub serve` (the embedded default); off when
    # separate `scimhub worker` processes do the work.
    worker_in_serve: bool = True
    # How often an idle worker looks for new events and due deliveries.
    worker_poll_seconds: float = 0.1
    # How long a claimed delivery or email is the claimer's; a killed worker's claims
    # are taken again after this.
    worker_lease_seconds: float = 30.0
    # Deliveries in flight at once per worker, and at most this many per endpoint (so a
    # slow endpoint cannot take every slot).
    webhook_concurrency: int = 32
    webhook_endpoint_concurrency: int = 8
    # Per attempt: connect + read timeout.
    webhook_timeout_seconds: float = 5.0
    # Attempts before a delivery (or an email) is dead-lettered.
    webhook_max_attempts: int = 12
    # Retry n waits about base * 2^(n-1) seconds (with jitter), at most max.
    webhook_backoff_base_seconds: float = 1.0
    webhook_backoff_max_seconds: float = 3600.0

    # -- email (events/email.py); no host: no email is queued or sent --
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = "scimhub@localhost"
    smtp_starttls: bool = False
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_timeout_seconds: float = 10.0
    # A directory of operator templates (`<name>.txt`) that replace the packaged ones.
    email_template_dir: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"SCIMHUB_{f.name.upper()}")
            if raw is None:
                continue
            values[f.name] = _parse(f.name, f.type, raw)
        settings = cls(**values)
        given = {k: v for k, v in overrides.items() if v is not None}
        return replace(settings, **given) if given else settings


_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


def _parse(name: str, type_: Any, raw: str) -> Any:
    """A variable's text as the field's type; ValueError names the variable."""
    kind = type_ if isinstance(type_, str) else getattr(type_, "__name__", str(type_))
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "bool":
            folded = raw.strip().lower()
            if folded in _TRUE:
                return True
            if folded in _FALSE:
                return False
            raise ValueError(f"expected true or false (1 or 0), not {raw!r}")
    except ValueError as exc:
        raise ValueError(f"SCIMHUB_{name.upper()}: {exc}") from exc
    return raw
