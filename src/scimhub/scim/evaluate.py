"""Evaluating a filter AST against a resource dict in Python (RFC 7644 §3.4.2.2).

Used by the PATCH engine for value paths and by tests as the reference the SQL compiler
is checked against. A filter is compiled once (every path resolved and every operand
checked, so an invalid filter fails whatever the data) into a predicate.

The semantics, where the RFC leaves room (docs/architecture.md "Semantics decided"):
- Paths resolve case-insensitively with `ResourceType.resolve`; an unknown attribute,
  or a writeOnly / returned:never one (`password`), is invalidFilter.
- Strings of a caseExact=false attribute compare after `str.lower()` of both sides, for
  every operator including co/sw/ew and the ordering ones (code-point order).
- Multi-valued: the filter matches when any value does (§3.4.2.2).
- `ne` is exactly `not eq`: an absent attribute matches `ne`, and a multi-valued
  attribute matches `ne v` when no value equals v. `eq null` matches an absent
  attribute, `ne null` a present one. Every other operator fails on an absent one.
  `not(x)` is the exact complement of x.
- A complex attribute without sub-attribute (`emails eq "x"`, `manager eq "id"`,
  Group `members eq "id"`) compares its `value` sub-attribute; `pr`, `eq null` and
  `ne null` test the attribute itself. Ordering operators on a single-valued complex
  attribute, and any comparison on a complex attribute without `value`, are
  invalidFilter.
- Present means not null and not empty ("", [], {}): such values are never stored, but
  the SQL compiler treats them so and this must agree.
- dateTime compares as instants (a value without zone is UTC); the operand is an
  xsd:dateTime or anything `datetime.fromisoformat` reads. Numbers compare numerically.
  boolean allows eq/ne/pr only; binary allows no ordering (§3.4.2.2); co/sw/ew apply to
  strings only.
- A JSON integer operand for a string attribute compares as its decimal text (an old
  Microsoft sample sends `externalId eq 12345`-style filters); "true"/"false" strings
  are accepted for booleans (as when writing).
- `meta.created`/`meta.lastModified` are read from `resource["meta"]` (strings or
  datetimes); `id`/`externalId` from the top level; extension attributes from under
  the extension's URN key.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from scimhub.scim.errors import InvalidFilter
from scimhub.scim.filter import And, AttrPath, Compare, Filter, Not, Or, Present, ValuePath
from scimhub.scim.resource import parse_datetime
from scimhub.scim.schema import Attribute, ResourceType

Predicate = Callable[[Any], bool]
Getter = Callable[[Any], list[Any]]

_ORDERING = frozenset({"gt", "ge", "lt", "le"})
_BOOLEANS = {"true": True, "false": False}


def matches(rt: ResourceType, resource: dict[str, Any], f: Filter) -> bool:
    """Whether a resource (a data dict, possibly with id/externalId/meta/members) matches."""
    return compile_filter(rt, f)(resource)


def matches_element(attribute: Attribute, element: Any, f: Filter) -> bool:
    """Whether one element of multi-valued `attribute` matches a value filter whose paths
    name its sub-attributes (`type eq "work"`)."""
    return compile_element_filter(attribute, f)(element)


def compile_filter(rt: ResourceType, f: Filter) -> Predicate:
    """A filter on resources of `rt` → a predicate; raises InvalidFilter."""
    return _compile(f, lambda path: _resource_term(rt, path), element=False)


def compile_element_filter(attribute: Attribute, f: Filter) -> Predicate:
    """A value filter (`emails[<f>]`) → a predicate on one element; raises InvalidFilter."""
    return _compile(f, lambda path: _element_term(attribute, path), element=True)


# -- compiler ----------------------------------------------------------------------------

# A term resolver: path → (the attribute compared, the getter of its present values).
_Term = tuple[Attribute, Getter]
_Resolver = Callable[[AttrPath], _Term]


def _compile(f: Filter, term: _Resolver, *, element: bool) -> Predicate:
    if isinstance(f, And):
        left, right = (
            _compile(f.left, term, element=element),
            _compile(f.right, term, element=element),
        )
        return lambda r: left(r) and right(r)
    if isinstance(f, Or):
        left, right = (
            _compile(f.left, term, element=element),
            _compile(f.right, term, element=element),
        )
        return lambda r: left(r) or right(r)
    if isinstance(f, Not):
        inner = _compile(f.expr, term, element=element)
        return lambda r: not inner(r)
    if isinstance(f, Present):
        _, get = term(f.path)
        return lambda r: bool(get(r))
    if isinstance(f, Compare):
        return _compare(f, *term(f.path))
    if isinstance(f, ValuePath):
        if element:
            raise InvalidFilter("value filters cannot be nested")
        attribute, get = term(f.path)
        if f.path.sub is not None or attribute.type != "complex":
            raise InvalidFilter(f"a value filter applies to a complex attribute, not {f.path}")
        # RFC 7644 §3.4.2.2: one element must satisfy the whole inner filter.
        inner = compile_element_filter(attribute, f.filter)
        return lambda r: any(inner(e) for e in get(r))
    raise InvalidFilter(f"unsupported filter node {f!r}")


def _compare(f: Compare, attribute: Attribute, get: Getter) -> Predicate:
    op, operand = f.op, f.value
    if operand is None:
        if op == "eq":
            return lambda r: not get(r)
        if op == "ne":
            return lambda r: bool(get(r))
        raise InvalidFilter(f"'{op}' cannot compare with null")
    if attribute.type == "complex":
        value_sub = attribute.sub("value")
        if value_sub is None or (op in _ORDERING and not attribute.multi_valued):
            raise InvalidFilter(f"'{f.path}' is complex: name a sub-attribute to compare")
        get = _values_of(get)
        attribute = value_sub
    test = _operator(attribute, op, operand, str(f.path))
    if op == "ne":
        return lambda r: not any(test(v) for v in get(r))
    return lambda r: any(test(v) for v in get(r))


def _values_of(get: Getter) -> Getter:
    def values(r: Any) -> list[Any]:
        return [e["value"] for e in get(r) if isinstance(e, dict) and _present(e.get("value"))]

    return values


def _operator(attribute: Attribute, op: str, operand: Any, name: str) -> Predicate:
    """The test of one stored value against the operand (for `ne`, the `eq` test)."""
    kind = attribute.type
    if kind == "boolean":
        if isinstance(operand, str) and operand.lower() in _BOOLEANS:
            operand = _BOOLEANS[operand.lower()]
        if not isinstance(operand, bool):
            raise InvalidFilter(f"'{name}' is boolean: compare with true or false")
        if op not in ("eq", "ne"):
            raise InvalidFilter(f"'{op}' does not apply to boolean '{name}'")
        return lambda v: v is operand
    if kind == "integer" or kind == "decimal":
        if isinstance(operand, bool) or not isinstance(operand, int | float):
            raise InvalidFilter(f"'{name}' is a number: compare with a number")
        if op in ("co", "sw", "ew"):
            raise InvalidFilter(f"'{op}' does not apply to number '{name}'")
        return _ordered(op, operand, _number)
    if kind == "dateTime":
        instant = _operand_instant(operand)
        if instant is None:
            raise InvalidFilter(f"'{name}' is a dateTime: compare with an xsd:dateTime string")
        if op in ("co", "sw", "ew"):
            raise InvalidFilter(f"'{op}' does not apply to dateTime '{name}'")
        return _ordered(op, instant, _instant)
    # string, reference, binary
    if type(operand) is int:
        operand = str(operand)
    if not isinstance(operand, str):
        raise InvalidFilter(f"'{name}' is a string: compare with a string")
    if kind == "binary" and op in _ORDERING:
        raise InvalidFilter(f"'{op}' does not apply to binary '{name}'")
    fold = not attribute.case_exact
    text = operand.lower() if fold else operand

    def key(v: Any) -> Any:
        if not isinstance(v, str):
            return None
        return v.lower() if fold else v

    if op == "co":
        return lambda v: (k := key(v)) is not None and text in k
    if op == "sw":
        return lambda v: (k := key(v)) is not None and k.startswith(text)
    if op == "ew":
        return lambda v: (k := key(v)) is not None and k.endswith(text)
    return _ordered(op, text, key)


def _ordered(op: str, operand: Any, key: Callable[[Any], Any]) -> Predicate:
    if op == "eq" or op == "ne":
        return lambda v: (k := key(v)) is not None and k == operand
    if op == "gt":
        return lambda v: (k := key(v)) is not None and k > operand
    if op == "ge":
        return lambda v: (k := key(v)) is not None and k >= operand
    if op == "lt":
        return lambda v: (k := key(v)) is not None and k < operand
    if op == "le":
        return lambda v: (k := key(v)) is not None and k <= operand
    raise InvalidFilter(f"unknown operator {op!r}")


def _number(v: Any) -> Any:
    return None if isinstance(v, bool) or not isinstance(v, int | float) else v


def _instant(v: Any) -> datetime | None:
    if isinstance(v, datetime):
        return v if v.tzinfo is not None else v.replace(tzinfo=UTC)
    return parse_datetime(v) if isinstance(v, str) else None


def _operand_instant(operand: Any) -> datetime | None:
    if not isinstance(operand, str):
        return None
    instant = parse_datetime(operand)
    if instant is not None:
        return instant
    try:  # lenient: any ISO 8601 form Python reads ("2024-01-01", a space for "T")
        instant = datetime.fromisoformat(operand.strip())
    except ValueError:
        return None
    return instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant


def _present(v: Any) -> bool:
    return v is not None and v != "" and v != [] and v != {}


# -- path resolution ---------------------------------------------------------------------


def _resource_term(rt: ResourceType, path: AttrPath) -> _Term:
    resolved = rt.resolve(path.urn, path.attr, path.sub)
    if resolved is None:
        raise InvalidFilter(f"unknown attribute '{path}'")
    attribute, sub = resolved.attribute, resolved.sub
    leaf = sub or attribute
    if attribute.mutability == "writeOnly" or leaf.returned == "never":
        raise InvalidFilter(f"cannot filter on '{path}'")  # password
    owner = resolved.schema if resolved.schema != rt.schema.id else None
    name = attribute.name

    def box(r: Any) -> Any:
        if owner is None:
            return r.get(name)
        ext = r.get(owner)
        return ext.get(name) if isinstance(ext, dict) else None

    return leaf, _getter(box, attribute, sub)


def _element_term(attribute: Attribute, path: AttrPath) -> _Term:
    if path.urn is not None or path.sub is not None:
        raise InvalidFilter(f"'{path}' inside a value filter must name a sub-attribute")
    if attribute.type != "complex":
        # elements of a simple multi-valued attribute: `value` is the element itself
        if path.attr.lower() != "value":
            raise InvalidFilter(f"'{attribute.name}' has no sub-attribute '{path.attr}'")
        return attribute, _single
    sub = attribute.sub(path.attr)
    if sub is None:
        raise InvalidFilter(f"'{attribute.name}' has no sub-attribute '{path.attr}'")
    name = sub.name
    return sub, lambda e: _single(e.get(name)) if isinstance(e, dict) else []


def _single(v: Any) -> list[Any]:
    return [v] if _present(v) else []


def _getter(box: Callable[[Any], Any], attribute: Attribute, sub: Attribute | None) -> Getter:
    """The present values a path names: for a multi-valued attribute, the elements (or
    their `sub` values); for a single-valued one, zero or one value."""
    if attribute.multi_valued:
        if sub is None:
            return lambda r: [e for e in _elements(box(r)) if _present(e)]
        name = sub.name
        return lambda r: [
            e[name] for e in _elements(box(r)) if isinstance(e, dict) and _present(e.get(name))
        ]
    if sub is None:
        return lambda r: _single(box(r))
    name = sub.name
    return lambda r: _single(v.get(name)) if isinstance(v := box(r), dict) else []


def _elements(v: Any) -> list[Any]:
    if v is None:
        return []
    return v if isinstance(v, list) else [v]
