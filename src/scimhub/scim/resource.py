"""Normalizing what a client sends for POST and PUT (RFC 7643 §2, RFC 7644 §3.3, §3.5.1).

The output is a resource's *data* dict: canonical attribute names (the schema's
spelling), no `id`/`meta`/`schemas`/`groups`/`password`, the enterprise extension
nested under its URN key, and for a Group `members` as `[{"value", "type"?}]`.

Leniencies (docs/architecture.md; /work/shared/idp/behaviour.md §0.7):
- attribute names match case-insensitively (RFC 7643 §2.1);
- unknown attributes and unknown schema URNs are ignored (Entra's `…enterprise:2.0User`,
  its ADSCIM group URN); so are readOnly attributes (RFC 7644 §3.5.1: "readOnly …
  SHALL be ignored"), and writeOnly `password` is accepted and discarded;
- `null` and `""` are absent (RFC 7643 §2.5), at any depth; empty elements, objects
  and arrays are dropped;
- booleans also come as "true"/"false" strings in any case (Entra, OneLogin);
- a string attribute takes only strings (a number is invalidValue: no IdP is known to
  send one, and reformatting it could not be "byte-for-byte");
- a single object for a multi-valued attribute is wrapped in a list (OneLogin
  `emails`), a one-element array for a single-valued attribute is unwrapped (Entra
  `manager`), and a bare string for a single-valued complex attribute that has a
  `value` sub-attribute becomes `{"value": s}` (Entra `manager`, SCIM-SDK#686);
- a top-level URN-qualified key (`urn:…:enterprise:2.0:User:employeeNumber`) is
  moved under its schema.
Values are otherwise stored exactly as sent (never reformatted).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, TypeVar

from scimhub.scim.errors import InvalidSyntax, InvalidValue, Mutability
from scimhub.scim.schema import GROUP_SCHEMA, Attribute, ResourceType, Schema


def _members_attribute() -> Attribute:
    attribute = GROUP_SCHEMA.attribute("members")
    assert attribute is not None
    return attribute


MEMBERS = _members_attribute()
_MEMBER_TYPES = {"user": "User", "group": "Group"}
_BOOLEANS = {"true": True, "false": False}

# xsd:dateTime (RFC 7643 §2.3.5): timezone optional, any number of fraction digits.
_DATETIME = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?", re.ASCII
)


def parse_datetime(text: str) -> datetime | None:
    """An xsd:dateTime string → an aware datetime (UTC when no zone is given), or None."""
    m = _DATETIME.fullmatch(text)
    if m is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = m.groups()
    tz = UTC
    if zone and zone != "Z":
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 14 or minutes > 59 or (hours == 14 and minutes):
            return None
        offset = timedelta(hours=hours, minutes=minutes)
        tz = timezone(-offset if zone[0] == "-" else offset)
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    end_of_day = hour == "24"  # xsd: 24:00:00 is midnight at the end of the day
    if end_of_day and (minute != "00" or second != "00" or (fraction or "0").strip("0")):
        return None
    try:
        value = datetime(
            int(year),
            int(month),
            int(day),
            0 if end_of_day else int(hour),
            int(minute),
            int(second),
            micro,
            tzinfo=tz,
        )
    except ValueError:
        return None
    return value + timedelta(days=1) if end_of_day else value


T = TypeVar("T")
OwnerT = TypeVar("OwnerT")
K = TypeVar("K", bound=Hashable)
Memo = dict[tuple[int, Hashable], tuple[object, Any]]


def memo(cache: Memo, owner: OwnerT, key: K, compute: Callable[[OwnerT, K], T]) -> T:
    """`compute(owner, key)`, cached per (owner's identity, key). Schema objects are frozen but
    slow to hash; the cache holds the owner, so its id is not reused while cached."""
    slot = (id(owner), key)
    hit = cache.get(slot)
    if hit is not None and hit[0] is owner:
        value: T = hit[1]
        return value
    value = compute(owner, key)
    if len(cache) >= 4096:
        cache.clear()
    cache[slot] = (owner, value)
    return value


def _absent(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _invalid(name: str, expected: str, value: Any) -> InvalidValue:
    return InvalidValue(f"'{name}' must be {expected}, not {type(value).__name__} {value!r:.40}")


def normalize_scalar(attribute: Attribute, value: Any, name: str | None = None) -> Any:
    """A single simple value → its stored form (RFC 7643 §2.3); None when absent."""
    name = name or attribute.name
    if value is None or value == "":
        return None
    kind = attribute.type
    if kind == "string" or kind == "reference" or kind == "binary":
        if not isinstance(value, str):
            raise _invalid(name, "a string", value)
        if "\x00" in value:
            # JSON allows U+0000 but no SQL text column stores it (PostgreSQL refuses it).
            raise InvalidValue(f"'{name}' must not contain a NUL character")
        return value
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in _BOOLEANS:
            return _BOOLEANS[value.lower()]  # Entra "False", OneLogin "{$user.active}"
        raise _invalid(name, "true or false", value)
    if kind == "integer":
        if type(value) is int:
            return value
        raise _invalid(name, "an integer", value)
    if kind == "decimal":
        if type(value) is int or type(value) is float:
            return value
        raise _invalid(name, "a number", value)
    if kind == "dateTime":
        if isinstance(value, str) and parse_datetime(value) is not None:
            return value
        raise _invalid(name, "an xsd:dateTime", value)
    raise _invalid(name, "a simple value", value)


def normalize_complex(attribute: Attribute, value: Any, name: str | None = None) -> Any:
    """One complex value (a single-valued attribute or one element of a multi-valued
    one) → a dict of canonical sub-attributes without readOnly ones; None when empty."""
    name = name or attribute.name
    if isinstance(value, str) and not attribute.multi_valued and attribute.sub("value"):
        value = {"value": value}  # Entra: "manager": "<id>" (SCIM-SDK#686)
    if not isinstance(value, dict):
        raise _invalid(name, "an object", value)
    out: dict[str, Any] = {}
    for key, item in value.items():
        sub = attribute.sub(key) if isinstance(key, str) else None
        if sub is None or sub.mutability == "readOnly":
            continue  # unknown or readOnly sub-attributes are ignored (RFC 7644 §3.5.1)
        normalized = normalize_value(sub, item, f"{name}.{sub.name}")
        if normalized is not None:
            out[sub.name] = normalized
    if attribute is MEMBERS:
        # A member given only by absent or readOnly keys is still a member without id.
        return None if all(_absent(v) for v in value.values()) else _member(out)
    return out or None


def _member(element: dict[str, Any]) -> dict[str, Any]:
    """A Group member → {"value", "type"?, "display"?}. `$ref` is derived from the id;
    `display` is kept as sent, so the client reads back what it wrote."""
    value = element.get("value")
    if value is None:
        raise InvalidValue("each member needs a 'value' (the member's id)")
    member: dict[str, Any] = {"value": value}
    kind = element.get("type")
    if kind is not None:
        canonical = _MEMBER_TYPES.get(kind.lower())
        if canonical is None:
            raise InvalidValue(f"member type must be 'User' or 'Group', not {kind!r:.40}")
        member["type"] = canonical
    display = element.get("display")
    if display is not None:
        member["display"] = display
    return member


def normalize_value(attribute: Attribute, value: Any, name: str | None = None) -> Any:
    """One attribute's value → its stored form, or None when it is absent.

    The PATCH engine calls this for every value it writes. Raises InvalidValue."""
    if value is None or value == "":
        return None
    if attribute.multi_valued:
        return normalize_multi(attribute, value, name)
    if isinstance(value, list):
        # Entra sends single-valued `manager` as a one-element array.
        items = [item for item in value if not _absent(item)]
        if not items:
            return None
        if len(items) > 1:
            raise _invalid(name or attribute.name, "a single value", value)
        value = items[0]
    if attribute.type == "complex":
        return normalize_complex(attribute, value, name)
    return normalize_scalar(attribute, value, name)


def normalize_multi(attribute: Attribute, value: Any, name: str | None = None) -> Any:
    """A multi-valued attribute → a non-empty list, or None (RFC 7643 §2.4)."""
    name = name or attribute.name
    if not isinstance(value, list):
        value = [value]  # OneLogin sends `emails` as one object
    complex_ = attribute.type == "complex"
    out: list[Any] = []
    primaries = 0
    for item in value:
        if item is None or item == "":
            continue
        element = (
            normalize_complex(attribute, item, name)
            if complex_
            else normalize_scalar(attribute, item, name)
        )
        if element is None:
            continue
        if complex_ and element.get("primary") is True:
            primaries += 1
        out.append(element)
    if primaries > 1:
        # RFC 7643 §2.4: "The primary attribute value "true" MUST appear no more than once."
        raise InvalidValue(f"at most one '{name}' value may be primary")
    if attribute is MEMBERS and len(out) > 1:
        seen: dict[str, dict[str, Any]] = {}
        for member in out:
            seen.setdefault(member["value"], member)
        out = list(seen.values())
    return out or None


# -- bodies ------------------------------------------------------------------------------


def resolve_key(rt: ResourceType, key: str) -> tuple[str | None, Attribute] | Schema | None:
    """A body key → (extension URN or None for top level, attribute), the extension
    Schema itself for its URN key, or None when the key names nothing we keep."""
    if ":" in key:
        extension = rt.extension(key)
        if extension is not None:
            return extension
        urn, _, attr = key.rpartition(":")
        resolved = rt.resolve(urn, attr)
        if resolved is None:
            return None
        owner = resolved.schema
        return (owner if owner != rt.schema.id else None), resolved.attribute
    top = rt.top_level(key)
    if top is None:
        return None
    return None, top[1]


def _writable(attribute: Attribute) -> bool:
    # readOnly (id, meta, groups) are ignored; writeOnly password is discarded.
    return attribute.mutability == "readWrite" or attribute.mutability == "immutable"


_BODY_KEYS: Memo = {}


def _body_key(rt: ResourceType, key: str) -> tuple[str | None, Attribute] | Schema | None:
    """`resolve_key`, with the attributes a body may not write mapped to None."""
    target = resolve_key(rt, key)
    if isinstance(target, tuple) and not _writable(target[1]):
        return None
    return target


def _put(data: dict[str, Any], owner: str | None, attribute: Attribute, value: Any) -> None:
    normalized = normalize_value(attribute, value)
    if normalized is None:
        return
    if owner is None:
        data[attribute.name] = normalized
    else:
        data.setdefault(owner, {})[attribute.name] = normalized


def normalize(rt: ResourceType, body: Any) -> dict[str, Any]:
    """A POST body → the resource's *data* dict (RFC 7644 §3.3).

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
    if not isinstance(body, dict):
        raise InvalidSyntax("the request body must be a JSON object")
    data: dict[str, Any] = {}
    for key, value in body.items():
        if value is None or value == "" or not isinstance(key, str):
            continue
        target = memo(_BODY_KEYS, rt, key, _body_key)
        if target is None:
            continue
        if isinstance(target, Schema):
            if not isinstance(value, dict):
                raise _invalid(target.id, "an object", value)
            for sub_key, item in value.items():
                attribute = target.attribute(sub_key) if isinstance(sub_key, str) else None
                if attribute is not None and _writable(attribute):
                    _put(data, target.id, attribute, item)
            continue
        _put(data, target[0], target[1], value)
    check_required(rt, data)
    return data


def check_required(rt: ResourceType, data: dict[str, Any]) -> None:
    """RFC 7643 §2.2 `required`; RFC 7644 §3.12: invalidValue "A required value was missing"."""
    for attribute in rt.schema.attributes:
        if attribute.required and attribute.name not in data:
            raise InvalidValue(f"'{attribute.name}' is required")


_IMMUTABLES: Memo = {}


def _immutables(rt: ResourceType) -> list[tuple[str | None, Attribute]]:
    return memo(_IMMUTABLES, rt, None, _find_immutables)


def _find_immutables(rt: ResourceType, _: None) -> list[tuple[str | None, Attribute]]:
    found: list[tuple[str | None, Attribute]] = []
    for schema in rt.schemas:
        owner = None if schema is rt.schema else schema.id
        for attribute in schema.attributes:
            if attribute.mutability == "immutable" or (
                not attribute.multi_valued
                and any(s.mutability == "immutable" for s in attribute.sub_attributes)
            ):
                found.append((owner, attribute))
    return found


def check_immutable(
    rt: ResourceType, before: dict[str, Any], after: dict[str, Any], *, keep_omitted: bool
) -> None:
    """RFC 7644 §3.5.1/§3.5.2: an immutable attribute that has a value may not change
    (a client MAY give one that had none). Applies to top-level attributes and the
    sub-attributes of single-valued complex attributes; the elements of a
    multi-valued attribute have no identity to compare (members are the store's).

    With `keep_omitted` (PUT), an omitted immutable value is kept rather than cleared;
    `after` is updated in place."""
    for owner, attribute in _immutables(rt):
        old_box = before if owner is None else before.get(owner) or {}
        new_box = after if owner is None else after.get(owner) or {}
        old, new = old_box.get(attribute.name), new_box.get(attribute.name)
        if old is None or old == new:
            continue
        if attribute.mutability == "immutable":
            if new is None and keep_omitted:
                _keep(after, owner, attribute.name, old)
                continue
            raise Mutability(f"'{attribute.name}' is immutable")
        merged = dict(new or {})
        for sub in attribute.sub_attributes:
            if sub.mutability != "immutable" or sub.name not in old:
                continue
            if sub.name not in merged and keep_omitted:
                merged[sub.name] = old[sub.name]
            elif merged.get(sub.name) != old[sub.name]:
                raise Mutability(f"'{attribute.name}.{sub.name}' is immutable")
        if merged != (new or {}):
            _keep(after, owner, attribute.name, merged)


def _keep(data: dict[str, Any], owner: str | None, name: str, value: Any) -> None:
    if owner is None:
        data[name] = value
    else:
        data.setdefault(owner, {})[name] = value


def normalize_replacement(rt: ResourceType, current: dict[str, Any], body: Any) -> dict[str, Any]:
    """A PUT body → the new data dict (RFC 7644 §3.5.1): like `normalize`, and
    immutable attributes that `current` has must not change (Mutability).

    Everything the body does not carry is cleared ("replaces"), except an immutable
    value, which the client may not clear and is kept."""
    data = normalize(rt, body)
    check_immutable(rt, current, data, keep_omitted=True)
    return data
