"""Versions and ETags (RFC 7644 §3.14, RFC 7232). STUB."""

from __future__ import annotations


def etag(version: int) -> str:
    """`W/"<version>"`, the value of `meta.version` and of the ETag header."""
    return f'W/"{version}"'


def matches(header: str | None, version: int) -> bool:
    """Whether an If-Match / If-None-Match header value names `version` (or is `*`).
    Weak and strong forms compare equal (RFC 7232 §2.3.2 weak comparison)."""
    raise NotImplementedError
