"""PATCH paths resolved against a resource type (RFC 7644 §3.5.2, §3.10), cached: an IdP
sends the same few paths again and again."""

from __future__ import annotations

from dataclasses import dataclass

from scimhub.scim.errors import InvalidFilter, InvalidPath
from scimhub.scim.errors import Mutability as MutabilityError
from scimhub.scim.evaluate import Predicate, compile_element_filter
from scimhub.scim.filter import Filter, PatchPath, parse_attr_path
from scimhub.scim.resource import Memo, memo
from scimhub.scim.schema import Attribute, ResourceType


@dataclass(frozen=True, slots=True)
class Target:
    """Where an operation writes: `attribute` (None: the whole extension `owner`), its
    `sub`-attribute, and the elements `test` selects (compiled from `filter`)."""

    owner: str | None  # extension URN; None for core and common attributes
    attribute: Attribute | None
    sub: Attribute | None = None
    test: Predicate | None = None
    filter: Filter | None = None


_TARGETS: Memo = {}
_MAP_KEYS: Memo = {}


def path_target(rt: ResourceType, path: PatchPath) -> Target | None:
    """An operation's `path` → its target; None when the operation is to be ignored.
    Raises InvalidPath / Mutability."""
    return memo(_TARGETS, rt, path, _path_target)


def map_key_target(rt: ResourceType, key: str) -> Target | None:
    """A key of a path-less value map → its target; None when it is to be ignored."""
    return memo(_MAP_KEYS, rt, key, _map_key)


def _path_target(rt: ResourceType, path: PatchPath) -> Target | None:
    return _resolve(rt, path, lenient=False)


def _map_key(rt: ResourceType, key: str) -> Target | None:
    try:
        path = parse_attr_path(key, InvalidPath)
    except InvalidPath:
        return None  # not an attribute name: ignored like an unknown attribute
    return _resolve(rt, PatchPath(path), lenient=True)


def _path_text(path: PatchPath) -> str:
    text = str(path.attr)
    if path.filter is not None:
        text += "[…]"
    return f"{text}.{path.sub}" if path.sub else text


def _resolve(rt: ResourceType, path: PatchPath, *, lenient: bool) -> Target | None:
    """A path → its target; None when the operation is to be ignored."""
    attr_path = path.attr
    urn = attr_path.urn
    if urn is None and attr_path.attr.lower() == "schemas":
        return None  # scimhub derives `schemas` from the data
    if urn is not None and attr_path.sub is None and path.filter is None:
        extension = rt.extension(f"{urn}:{attr_path.attr}")
        if extension is not None:
            return Target(extension.id, None)
    if urn is not None and urn.lower() != rt.schema.id.lower() and rt.extension(urn) is None:
        return None  # an unknown schema URN is ignored, as in a POST body
    resolved = rt.resolve(urn, attr_path.attr, attr_path.sub)
    sub = resolved.sub if resolved else None
    if resolved is not None and path.sub is not None:
        sub = resolved.attribute.sub(path.sub)
    if resolved is None or (path.sub is not None and sub is None):
        if lenient:
            return None
        raise InvalidPath(f"'{_path_text(path)}' names no attribute of {rt.name}")
    attribute = resolved.attribute
    if attribute.mutability == "readOnly" or (sub is not None and sub.mutability == "readOnly"):
        if lenient:
            return None
        raise MutabilityError(f"'{_path_text(path)}' is readOnly")
    if attribute.mutability == "writeOnly":
        return None  # password: accepted and discarded
    test = None
    if path.filter is not None:
        if not (attribute.multi_valued and attribute.type == "complex"):
            raise InvalidPath(f"'{attribute.name}' is not multi-valued: it takes no filter")
        try:
            test = compile_element_filter(attribute, path.filter)
        except InvalidFilter as exc:
            raise InvalidPath(exc.detail) from exc
    owner = resolved.schema if resolved.schema != rt.schema.id else None
    return Target(owner, attribute, sub, test, path.filter)
