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

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"SCIMHUB_{f.name.upper()}")
            if raw is None:
                continue
            values[f.name] = int(raw) if f.type in ("int", int) else raw
        settings = cls(**values)
        given = {k: v for k, v in overrides.items() if v is not None}
        return replace(settings, **given) if given else settings
