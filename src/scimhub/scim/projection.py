"""`attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9) and the `returned`
characteristic (RFC 7643 §2.2, §7).

Rules (RFC 7644 §3.9, RFC 7643 §7):
- `schemas` is always in the output (RFC 7643 §3: REQUIRED in every representation);
  `returned: always` attributes (`id`) are too, whatever the parameters say.
- `returned: never` (`password`) is never in the output, even when named.
- `returned: request` only when named in `attributes`.
- `returned: default` (everything else, `meta` included: RFC 7644 §3.9's example answers
  `attributes=userName` with `schemas`, `id` and `userName` only) unless excluded, or,
  when `attributes` is given, unless not named.

Names are matched case-insensitively (RFC 7643 §2.1) in standard attribute notation
(RFC 7644 §3.10): `name`, `name.givenName`, `emails.value`, URN-qualified
(`urn:…:core:2.0:User:userName`, `urn:…:enterprise:2.0:User:department`), or a bare
extension URN for the whole extension. A name that resolves to nothing is ignored.

Decided where the RFCs are silent:
- RFC 7644 §3.9 calls the two parameters mutually exclusive but names no error; when a
  client sends both, `attributes` selects and `excludedAttributes` then removes.
- An extension object left empty by the projection is dropped, and so is its URN from
  `schemas`, so the output never lists a schema it does not carry.
- Elements of a multi-valued attribute left empty by a sub-attribute projection
  (`attributes=emails.type` on an email without a type) are dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

from scimhub.scim.errors import ScimError
from scimhub.scim.filter import parse_attr_path
from scimhub.scim.schema import COMMON_ATTRIBUTES, Attribute, ResourceType, Schema


@dataclass(frozen=True, slots=True)
class Projection:
    attributes: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()

    @classmethod
    def parse(
        cls, attributes: str | list[str] | None, excluded: str | list[str] | None
    ) -> Projection:
        """From query parameters (comma-separated) or a .search body (lists)."""
        return cls(_names(attributes), _names(excluded))

    def includes(self, rt: ResourceType, name: str) -> bool:
        """Whether top-level attribute `name` (e.g. "members", "groups") will be in the
        output, so stores can skip loading what is not returned."""
        plan = _plan(rt, self)
        action = plan.actions.get(name.lower(), _UNSET)
        if action is _UNSET:
            return plan.keep_unknown
        return action is not _DROP


def project(rt: ResourceType, resource: dict[str, Any], projection: Projection) -> dict[str, Any]:
    """The full SCIM representation → what the client gets back."""
    plan = _plan(rt, projection)
    out = _apply(plan, resource)
    dropped = [urn for urn in plan.extensions if urn in resource and urn not in out]
    if dropped and isinstance(out.get("schemas"), list):
        out["schemas"] = [s for s in out["schemas"] if s not in dropped]
    return out


def _names(value: str | list[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    names: list[str] = []
    for item in items:
        if isinstance(item, str):
            names.extend(n.strip() for n in item.split(",") if n.strip())
    return tuple(names)


# -- plans --------------------------------------------------------------------------------
#
# A plan is compiled once per (resource type, projection) and applied to every resource
# of a page: per key, keep the value as is, drop it, or project it with a sub-plan.


class _Sentinel:
    __slots__ = ()


_KEEP: Final = _Sentinel()
_DROP: Final = _Sentinel()
_UNSET: Final = _Sentinel()

_Action: TypeAlias = "_Sentinel | _Plan"


@dataclass(slots=True)
class _Plan:
    actions: dict[str, _Action]  # by lower-case name (and canonical name, for speed)
    keep_unknown: bool
    extensions: tuple[str, ...] = ()  # top level: canonical extension URNs

    def set(self, name: str, action: _Action) -> None:
        self.actions[name] = action
        self.actions[name.lower()] = action

    def get(self, name: str) -> _Action:
        return self.actions.get(name, self.actions.get(name.lower(), _UNSET))


def _apply(plan: _Plan, obj: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in obj.items():
        action = plan.actions.get(key)
        if action is None:
            action = plan.actions.get(key.lower(), _UNSET)
        if action is _KEEP or (action is _UNSET and plan.keep_unknown):
            out[key] = value
        elif isinstance(action, _Plan):
            if isinstance(value, dict):
                sub = _apply(action, value)
                if sub:
                    out[key] = sub
            elif isinstance(value, list):
                items = [_apply(action, v) if isinstance(v, dict) else v for v in value]
                items = [v for v in items if v != {}]
                if items:
                    out[key] = items
            else:
                out[key] = value
    return out


_CACHE: dict[tuple[str, Projection], tuple[ResourceType, _Plan]] = {}
_CACHE_SIZE = 512


def _plan(rt: ResourceType, projection: Projection) -> _Plan:
    key = (rt.id, projection)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is rt:
        return hit[1]
    plan = _compile(rt, projection)
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.clear()
    _CACHE[key] = (rt, plan)
    return plan


def _returned_by_default(attr: Attribute) -> bool:
    return attr.returned in ("always", "default")


def _full(attr: Attribute) -> _Action:
    """The whole attribute as returned by default: without its `never`/`request` subs."""
    hidden = [s for s in attr.sub_attributes if not _returned_by_default(s)]
    if not hidden:
        return _KEEP
    plan = _Plan({}, keep_unknown=True)
    for sub in hidden:
        plan.set(sub.name, _DROP)
    return plan


def _default_level(attrs: Iterable[Attribute]) -> _Plan:
    """RFC 7643 §7: `always` and `default` attributes; unknown keys are kept."""
    plan = _Plan({}, keep_unknown=True)
    for attr in attrs:
        plan.set(attr.name, _full(attr) if _returned_by_default(attr) else _DROP)
    return plan


def _minimum_level(attrs: Iterable[Attribute]) -> _Plan:
    """RFC 7644 §3.9 "minimum set": the `always` attributes only."""
    plan = _Plan({}, keep_unknown=False)
    for attr in attrs:
        if attr.returned == "always":
            plan.set(attr.name, _full(attr))
    return plan


def _core_attributes(rt: ResourceType) -> tuple[Attribute, ...]:
    return (*COMMON_ATTRIBUTES, *rt.schema.attributes)


def _compile(rt: ResourceType, projection: Projection) -> _Plan:
    if projection.attributes:
        top = _minimum_level(_core_attributes(rt))
        for name in projection.attributes:
            _select(rt, top, name)
    else:
        top = _default_level(_core_attributes(rt))
        for ext, _ in rt.extensions:
            top.set(ext.id, _default_level(ext.attributes))
    top.set("schemas", _KEEP)
    top.extensions = tuple(ext.id for ext, _ in rt.extensions)
    for name in projection.excluded:
        _exclude(rt, top, name)
    return top


def _resolve(
    rt: ResourceType, name: str
) -> tuple[Schema | None, Attribute | None, Attribute | None] | None:
    """name → (extension schema or None for core/common, attribute, sub-attribute).
    A bare extension URN gives (extension, None, None); unknown names give None."""
    ext = rt.extension(name)
    if ext is not None:
        return ext, None, None
    try:
        path = parse_attr_path(name)
    except ScimError:
        return None
    resolved = rt.resolve(path.urn, path.attr, path.sub)
    if resolved is None:
        return None
    owner = rt.extension(resolved.schema) if resolved.schema else None
    return owner, resolved.attribute, resolved.sub


def _level_for(top: _Plan, ext: Schema | None, *, create: bool) -> _Plan | None:
    """The plan level that holds `ext`'s attributes (the top level for core ones);
    None when the extension is not in the output (or is kept whole)."""
    if ext is None:
        return top
    current = top.get(ext.id)
    if isinstance(current, _Plan):
        return current
    if current is not _UNSET or not create:
        return None
    level = _minimum_level(ext.attributes)
    top.set(ext.id, level)
    return level


def _select(rt: ResourceType, top: _Plan, name: str) -> None:
    found = _resolve(rt, name)
    if found is None:
        return
    ext, attr, sub = found
    if attr is None:  # a bare extension URN: the whole extension
        if ext is not None:
            top.set(ext.id, _default_level(ext.attributes))
        return
    if attr.returned == "never" or (sub is not None and sub.returned == "never"):
        return
    level = _level_for(top, ext, create=True)
    if level is None:
        return
    if sub is None:
        level.set(attr.name, _full(attr))
        return
    current = level.get(attr.name)
    if current is _KEEP:
        return
    if not isinstance(current, _Plan):
        current = _minimum_level(attr.sub_attributes)
        level.set(attr.name, current)
    current.set(sub.name, _KEEP)


def _exclude(rt: ResourceType, top: _Plan, name: str) -> None:
    found = _resolve(rt, name)
    if found is None:
        return
    ext, attr, sub = found
    if attr is None:  # the whole extension
        if ext is not None:
            top.set(ext.id, _DROP)
        return
    # RFC 7644 §3.4.2.5: no effect on attributes whose `returned` is `always`.
    if attr.returned == "always" or (sub is not None and sub.returned == "always"):
        return
    level = _level_for(top, ext, create=False)
    if level is None:
        return
    if sub is None:
        level.set(attr.name, _DROP)
        return
    current = level.get(attr.name)
    if current is _KEEP:
        current = _default_level(attr.sub_attributes)
        level.set(attr.name, current)
    if isinstance(current, _Plan):
        current.set(sub.name, _DROP)
