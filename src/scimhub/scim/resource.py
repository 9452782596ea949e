"""Normalizing what a client sends for POST and PUT (RFC 7643 §2, RFC 7644 §3.3, §3.5.1).

STUB: signatures are the contract; bodies are being written."""

from __future__ import annotations

from typing import Any

from scimhub.scim.schema import ResourceType


def normalize(rt: ResourceType, body: Any) -> dict[str, Any]:
    """A POST body → the resource's *data* dict.

    Canonical attribute names (case-insensitive match against the schema), values
    coerced ("True" → True for booleans), `null` and "" treated as absent, unknown
    attributes and URNs dropped, readOnly attributes (id, meta, groups) dropped,
    writeOnly `password` dropped (scimhub keeps no credentials), a single object given
    for a multi-valued attribute wrapped in a list, `manager` given as a bare string
    turned into {"value": ...}, the enterprise extension kept under its URN key.
    Required attributes checked. Raises InvalidValue / InvalidSyntax.
    The result has no `id`, `meta`, `schemas`; for a Group it may hold `members`
    (a list of {"value", "type"?}).
    """
    raise NotImplementedError


def normalize_replacement(rt: ResourceType, current: dict[str, Any], body: Any) -> dict[str, Any]:
    """A PUT body → the new data dict (RFC 7644 §3.5.1): like `normalize`, and
    immutable attributes that `current` has must not change (Mutability)."""
    raise NotImplementedError
