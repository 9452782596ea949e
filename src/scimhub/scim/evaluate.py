"""Evaluating a filter AST against a resource dict in Python (RFC 7644 §3.4.2.2).

Used by the PATCH engine for value paths and by tests as the reference the SQL compiler
is checked against. STUB: signatures are the contract."""

from __future__ import annotations

from typing import Any

from scimhub.scim.filter import Filter
from scimhub.scim.schema import Attribute, ResourceType


def matches(rt: ResourceType, resource: dict[str, Any], f: Filter) -> bool:
    """Whether a resource (a data dict, possibly with id/externalId/meta/members) matches."""
    raise NotImplementedError


def matches_element(attribute: Attribute, element: Any, f: Filter) -> bool:
    """Whether one element of multi-valued `attribute` matches a value filter whose paths
    name its sub-attributes (`type eq "work"`)."""
    raise NotImplementedError
