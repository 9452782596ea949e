"""Applying PATCH operations to a data dict (RFC 7644 §3.5.2.1-§3.5.2.3)."""

from __future__ import annotations

from typing import Any

from scimhub.scim.errors import InvalidValue, NoTarget
from scimhub.scim.errors import Mutability as MutabilityError
from scimhub.scim.filter import And, AttrPath, Compare, Filter
from scimhub.scim.patch.messages import MemberChange, Op, PatchOperation, PatchResult
from scimhub.scim.patch.targets import Target, map_key_target, path_target
from scimhub.scim.resource import MEMBERS, check_immutable, normalize_complex, normalize_value
from scimhub.scim.schema import Attribute, ResourceType


def apply_patch(
    rt: ResourceType,
    data: dict[str, Any],
    operations: list[PatchOperation],
) -> PatchResult:
    """Apply operations to a copy of `data`. For a Group, operations on `members` are not
    applied to the dict but returned, in order, as `member_changes`."""
    patcher = _Patcher(rt, data)
    required = [a.name for a in rt.schema.attributes if a.required and a.name in data]
    for operation in operations:
        if operation.path is None:
            patcher.apply_map(operation.op, operation.value)
        else:
            target = path_target(rt, operation.path)
            if target is not None:
                patcher.apply(operation.op, target, operation.value)
        for name in required:
            if name not in patcher.data:
                # RFC 7644 §3.5.2.2: "If an attribute is removed or becomes unassigned and
                # is defined as a required attribute …" → mutability.
                raise MutabilityError(f"'{name}' is required: it cannot be removed")
    return patcher.finish()


class _Patcher:
    def __init__(self, rt: ResourceType, data: dict[str, Any]) -> None:
        self.rt = rt
        self.original = data
        self.data = dict(data)  # copy-on-write: values are replaced, never mutated
        self.changes: list[MemberChange] = []
        self._owned: set[str] = set()  # extension dicts already copied
        self._group = rt.schema.attribute("members") is MEMBERS

    # -- storage --

    def get(self, owner: str | None, name: str) -> Any:
        box = self.data if owner is None else self.data.get(owner)
        return box.get(name) if isinstance(box, dict) else None

    def set(self, owner: str | None, name: str, value: Any) -> None:
        box: Any
        if owner is None:
            box = self.data
        else:
            box = self.data.get(owner)
            if value is None and not (isinstance(box, dict) and name in box):
                return
            if owner not in self._owned or not isinstance(box, dict):
                box = dict(box) if isinstance(box, dict) else {}
                self.data[owner] = box
                self._owned.add(owner)
        if value is None:
            box.pop(name, None)
        else:
            box[name] = value
        if owner is not None and not box:
            del self.data[owner]
            self._owned.discard(owner)

    # -- operations --

    def apply_map(self, op: Op, value: dict[str, Any]) -> None:
        """No path: `value` holds attributes of the resource (RFC 7644 §3.5.2.1), keyed
        by name or by path (Entra's `name.givenName`, URN-qualified keys)."""
        rt = self.rt
        for key, item in value.items():
            if not isinstance(key, str):
                continue
            target = map_key_target(rt, key)
            if target is not None:
                self.apply(op, target, item)

    def apply(self, op: Op, target: Target, value: Any) -> None:
        attribute = target.attribute
        if attribute is None:
            self._extension(op, target, value)
        elif self._group and attribute is MEMBERS:
            self._members(op, target, value)
        elif op == "remove":
            self._remove(target, attribute, value)
        elif target.test is not None:
            self._write_filtered(op, target, attribute, value)
        elif target.sub is not None:
            self._write_sub(op, target, attribute, target.sub, value)
        else:
            self._write(op, target.owner, attribute, value)

    def _extension(self, op: Op, target: Target, value: Any) -> None:
        urn = target.owner
        assert urn is not None
        if op == "remove" or (op == "replace" and _absent(value)):
            if urn in self.data:
                del self.data[urn]
                self._owned.discard(urn)
            return
        if _absent(value):
            return
        if not isinstance(value, dict):
            raise InvalidValue(f"the value for {urn} must be an object")
        schema = self.rt.extension(urn)
        assert schema is not None
        for key, item in value.items():
            attribute = schema.attribute(key) if isinstance(key, str) else None
            if attribute is not None and attribute.mutability in ("readWrite", "immutable"):
                self._write(op, urn, attribute, item)

    def _write(self, op: Op, owner: str | None, attribute: Attribute, value: Any) -> None:
        name = attribute.name
        new = normalize_value(attribute, value)
        if new is None:
            if op == "replace":
                self.set(owner, name, None)  # RFC 7643 §2.5: null is unassigned
            return
        old = self.get(owner, name)
        if attribute.multi_valued and op == "add":
            # RFC 7644 §3.5.2.1: values already there are not added again.
            appended = list(old or ())
            for element in new:
                if element not in appended:
                    appended.append(element)
            new = _settle_primary(old or [], appended)
        elif attribute.type == "complex" and not attribute.multi_valued:
            new = _merge(old, new)
        self.set(owner, name, new)

    def _write_sub(
        self, op: Op, target: Target, attribute: Attribute, sub: Attribute, value: Any
    ) -> None:
        name = attribute.name
        new = normalize_value(sub, value, f"{name}.{sub.name}")
        if new is None and op == "add":
            return
        old = self.get(target.owner, name)
        if not attribute.multi_valued:
            base = old if isinstance(old, dict) else {}
            updated = _without(base, sub.name) if new is None else _merge(base, {sub.name: new})
            self.set(target.owner, name, updated)
            return
        elements: list[Any] = old or []
        if new is None:
            changed = [x for e in elements if (x := _without(e, sub.name)) is not None]
        elif elements:
            changed = [{**e, sub.name: new} for e in elements]
        else:
            changed = [{sub.name: new}]  # RFC 7644 §3.5.2.3: a missing target is an add
        self.set(target.owner, name, _settle_primary(elements, changed) or None)

    def _write_filtered(self, op: Op, target: Target, attribute: Attribute, value: Any) -> None:
        name, sub, test = attribute.name, target.sub, target.test
        assert test is not None
        if sub is None:
            if isinstance(value, list) and len(value) == 1:
                value = value[0]  # one element given as an array, like Entra's manager
            patch = None if _absent(value) else normalize_complex(attribute, value)
        else:
            new = normalize_value(sub, value, f"{name}.{sub.name}")
            patch = None if new is None else {sub.name: new}
        if patch is None and op == "add":
            return
        old: list[Any] = self.get(target.owner, name) or []
        updated: list[Any] = []
        matched = False
        for element in old:
            if not test(element):
                updated.append(element)
                continue
            matched = True
            if patch is not None:
                updated.append({**element, **patch})
            elif sub is not None and (rest := _without(element, sub.name)) is not None:
                updated.append(rest)  # replace with null: that sub-attribute is unassigned
        if not matched:
            if patch is None:
                return
            # Entra: a filter that selects nothing creates the element it describes.
            described = _described(target.filter)
            if described is None:
                raise NoTarget(f"no '{name}' value matches the filter")
            created = normalize_complex(attribute, {**described, **patch})
            if created is None or not test(created):
                raise InvalidValue(f"the value contradicts the filter on '{name}'")
            updated.append(created)
        self.set(target.owner, name, _settle_primary(old, updated) or None)

    def _remove(self, target: Target, attribute: Attribute, value: Any) -> None:
        """RFC 7644 §3.5.2.2."""
        name, sub, test = attribute.name, target.sub, target.test
        old = self.get(target.owner, name)
        if old is None:
            return  # removing what is not there: no-op success
        if test is not None or (sub is not None and attribute.multi_valued):
            kept = []
            for element in old:
                if test is not None and not test(element):
                    kept.append(element)
                elif sub is not None and (rest := _without(element, sub.name)) is not None:
                    kept.append(rest)
            self.set(target.owner, name, kept or None)
        elif sub is not None:
            self.set(target.owner, name, _without(old, sub.name))
        elif attribute.multi_valued and value is not None:
            # Entra / JumpCloud: `value` lists the elements to remove, never all of them.
            listed = normalize_value(attribute, value) or []
            kept = [e for e in old if not any(_selects(attribute, s, e) for s in listed)]
            self.set(target.owner, name, kept or None)
        else:
            self.set(target.owner, name, None)

    def _members(self, op: Op, target: Target, value: Any) -> None:
        if target.sub is not None or (target.test is not None and op != "remove"):
            # RFC 7643 §4.2: a member's value, type and $ref are immutable.
            raise MutabilityError("members cannot be modified in place: add or remove them")
        if op == "remove":
            if target.filter is not None:
                self.changes.append(MemberChange("remove", filter=target.filter))
            elif value is None:
                self.changes.append(MemberChange("remove"))
            elif members := normalize_value(MEMBERS, value):
                self.changes.append(MemberChange("remove", tuple(members)))
            return
        members = normalize_value(MEMBERS, value) or []
        if op == "replace":
            self.changes.append(MemberChange("replace", tuple(members)))
        elif members:
            self.changes.append(MemberChange("add", tuple(members)))

    def finish(self) -> PatchResult:
        # RFC 7644 §3.5.2: an immutable attribute that had a value may not end up changed.
        check_immutable(self.rt, self.original, self.data, keep_omitted=False)
        return PatchResult(self.data, self.changes)


# -- helpers -----------------------------------------------------------------------------


def _absent(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _without(element: Any, name: str) -> Any:
    """An element without sub-attribute `name`; None when nothing is left."""
    if not isinstance(element, dict) or name not in element:
        return element
    rest = {k: v for k, v in element.items() if k != name}
    return rest or None


def _merge(old: Any, new: dict[str, Any]) -> dict[str, Any]:
    """Sub-attributes of `new` over `old` (RFC 7644 §3.5.2.3). A new `value` without a
    new `$ref` drops the old `$ref`, which pointed at the old value (manager)."""
    if not isinstance(old, dict):
        return new
    merged = {**old, **new}
    if "$ref" in old and "$ref" not in new and merged.get("value") != old.get("value"):
        del merged["$ref"]
    return merged


def _settle_primary(before: list[Any], after: list[Any]) -> list[Any]:
    """RFC 7644 §3.5.2: a value newly marked primary makes the others non-primary;
    RFC 7643 §2.4: at most one primary value."""
    previous = {id(e) for e in before}
    primaries = [e for e in after if isinstance(e, dict) and e.get("primary") is True]
    if len(primaries) <= 1:
        return after
    marked = [e for e in primaries if id(e) not in previous]
    if len(marked) != 1:
        raise InvalidValue("at most one value may be primary")
    keep, unset = marked[0], {id(e) for e in primaries}
    return [{**e, "primary": False} if id(e) in unset and e is not keep else e for e in after]


def _selects(attribute: Attribute, listed: Any, element: Any) -> bool:
    """Whether a `remove` value entry names an element: every sub-attribute it gives is
    equal (case-insensitively where the sub-attribute is not caseExact)."""
    if not isinstance(listed, dict) or not isinstance(element, dict):
        return bool(listed == element)
    for key, wanted in listed.items():
        have = element.get(key)
        sub = attribute.sub(key)
        if isinstance(have, str) and isinstance(wanted, str) and sub and not sub.case_exact:
            have, wanted = have.lower(), wanted.lower()
        if have != wanted:
            return False
    return True


def _described(f: Filter | None) -> dict[str, Any] | None:
    """The element an `eq`-only filter describes (`type eq "work" and primary eq true`)."""
    if isinstance(f, And):
        left, right = _described(f.left), _described(f.right)
        return None if left is None or right is None else {**left, **right}
    if isinstance(f, Compare) and f.op == "eq" and f.value is not None and f.path.sub is None:
        path: AttrPath = f.path
        return {path.attr: f.value}
    return None
