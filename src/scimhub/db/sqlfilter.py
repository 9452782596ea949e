"""Filters (RFC 7644 §3.4.2.2) compiled to SQL, with the same semantics as the Python
reference evaluator (`scimhub.scim.evaluate`):

- Paths resolve case-insensitively against the resource type; an unknown path, or
  `password` (writeOnly, never stored), is `InvalidFilter`.
- Strings compare by the attribute's caseExact: caseExact=false folds both sides with
  `str.lower` (the `*_ci` columns are folded when written; elsewhere SQL `lower()`,
  which on SQLite is replaced by Python's `str.lower`, see `register_sqlite_functions`).
  Ordering (gt/ge/lt/le) is by code point, like Python (COLLATE "C" on PostgreSQL).
- An absent attribute matches no operator but `ne`. `x ne v` is exactly `not(x eq v)`,
  `x eq null` is `not(x pr)` and `x ne null` is `x pr`. `pr` means present and not
  empty ("" for a string, [] for a multi-valued attribute, {} for a complex one).
- Multi-valued: `emails op v` means `emails.value op v`; `emails.sub op v` (op not ne)
  holds when some element's `sub` satisfies it; `emails[f]` when some element satisfies
  all of `f`.
- A complex attribute without sub-attribute compares its `value` sub-attribute if it
  has one (`manager eq "id"`), otherwise only `pr`/`eq null`/`ne null` apply to it.
- dateTime values compare as instants (a filter value without offset is UTC); booleans
  take eq/ne/pr only; an unparseable or mistyped value is `InvalidFilter`. An integer
  given for a string attribute is taken as its decimal text (`externalId eq 12345`).
- `meta.resourceType` is a constant; `meta.version` is the ETag (`W/"<version>"`);
  `meta.location` is not filterable (it depends on the request's base URL). Users'
  `groups` are the direct memberships (`scim.evaluate` sees what the resource holds).

Every predicate built here is two-valued (never SQL NULL), so NOT is its exact
complement. Where the data is in indexed columns (userName, externalId, id, displayName,
active, meta.created, meta.lastModified), in the email mirror (`user_emails`) or in
`memberships`, the SQL uses them; the rest goes through JSON functions (`jsonsql`)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import Table

from scimhub.db.jsonsql import json_sql
from scimhub.db.sqlelements import (
    Elements,
    EmailMirror,
    GroupMembers,
    JsonElements,
    UserGroups,
    json_leaf,
    sub_of,
)
from scimhub.db.sqlleaf import (
    ORDERING,
    Comparisons,
    Leaf,
    Pred,
    bool_column,
    string_leaf,
)
from scimhub.db.tables import groups, memberships, users
from scimhub.scim.errors import InvalidFilter
from scimhub.scim.filter import And, AttrPath, Compare, Filter, Not, Or, Present, ValuePath
from scimhub.scim.schema import GROUP, Attribute, Resolved, ResourceType

__all__ = ["FilterCompiler", "compile_filter", "compile_member_filter"]

# The email sub-attributes the `user_emails` mirror holds.
MIRRORED_EMAIL_SUBS = frozenset({"value", "type", "primary"})


# -- the compiler ------------------------------------------------------------------------


@dataclass
class _Target:
    """What a path at the resource's root names: a single value (`leaf`), a multi-valued
    or complex attribute (`elements`, with `sub` when the path names a sub-attribute),
    or a complex attribute without a `value` to compare (`present` only)."""

    name: str
    leaf: Leaf | None = None
    elements: Elements | None = None
    sub: Attribute | None = None
    present: Pred | None = None


class FilterCompiler:
    """Compiles filters for one resource type, table and tenant."""

    def __init__(self, rt: ResourceType, dialect: str, tenant_id: str | None) -> None:
        self.rt = rt
        self.table: Table = users if rt.name == "User" else groups
        self.dialect = dialect
        self.json = json_sql(dialect)
        self.cmp = Comparisons(dialect)
        self.tenant_id = tenant_id

    # entry point
    def compile(self, f: Filter) -> Pred:
        return self._node(f, None)

    def _node(self, f: Filter, ctx: Elements | None) -> Pred:
        if isinstance(f, And):
            return sa.and_(self._node(f.left, ctx), self._node(f.right, ctx))
        if isinstance(f, Or):
            return sa.or_(self._node(f.left, ctx), self._node(f.right, ctx))
        if isinstance(f, Not):
            return sa.not_(self._node(f.expr, ctx))
        if isinstance(f, ValuePath):
            if ctx is not None:
                raise InvalidFilter("value filters cannot be nested")
            return self._value_path(f)
        if isinstance(f, Present):
            return self._present(f.path, ctx)
        assert isinstance(f, Compare)
        return self._compare(f, ctx)

    def _compare(self, f: Compare, ctx: Elements | None) -> Pred:
        if f.value is None:
            if f.op == "eq":
                return sa.not_(self._present(f.path, ctx))
            if f.op == "ne":
                return self._present(f.path, ctx)
            raise InvalidFilter(f"{f.path} {f.op} null: only eq and ne compare with null")
        if f.op == "ne":
            return sa.not_(self._compare(Compare(f.path, "eq", f.value), ctx))
        if ctx is not None:
            return self.cmp.compare(ctx.leaf(sub_of(ctx.attribute, f.path)), f.op, f.value)
        target = self._target(f.path, ordering=f.op in ORDERING)
        if target.leaf is not None:
            return self.cmp.compare(target.leaf, f.op, f.value)
        if target.elements is None or target.sub is None:
            raise InvalidFilter(f"{f.path} is complex: name a sub-attribute to compare")
        sub, op, value = target.sub, f.op, f.value
        return target.elements.exists(lambda e: self.cmp.compare(e.leaf(sub), op, value))

    def _present(self, path: AttrPath, ctx: Elements | None) -> Pred:
        if ctx is not None:
            return self.cmp.present(ctx.leaf(sub_of(ctx.attribute, path)))
        target = self._target(path, presence=True)
        if target.leaf is not None:
            return self.cmp.present(target.leaf)
        if target.present is not None:
            return target.present
        assert target.elements is not None and target.sub is not None
        sub = target.sub
        return target.elements.exists(lambda e: self.cmp.present(e.leaf(sub)))

    def _value_path(self, f: ValuePath) -> Pred:
        resolved = self._resolve(f.path)
        attr = resolved.attribute
        if attr.type != "complex" or resolved.sub is not None:
            raise InvalidFilter(f"{f.path} is not a complex attribute: no value filter applies")
        elements = self._elements(resolved, _subs_in(f.filter))
        inner = f.filter
        return elements.exists(lambda e: self._node(inner, e))

    # -- root paths ------------------------------------------------------------------

    def _tenant(self) -> str:
        assert self.tenant_id is not None, "root paths need the tenant"
        return self.tenant_id

    def _resolve(self, path: AttrPath) -> Resolved:
        resolved = self.rt.resolve(path.urn, path.attr, path.sub)
        if resolved is None:
            raise InvalidFilter(f"unknown attribute {path} for {self.rt.name}")
        if resolved.attribute.mutability == "writeOnly" or resolved.leaf.returned == "never":
            raise InvalidFilter(f"{resolved.dotted} cannot be used in a filter")
        return resolved

    def _target(self, path: AttrPath, *, presence: bool = False, ordering: bool = False) -> _Target:
        resolved = self._resolve(path)
        name = resolved.dotted
        column = self._column_leaf(resolved)
        if column is not None:
            return _Target(name, leaf=column)
        attr, sub = resolved.attribute, resolved.sub
        if attr.name == "meta" and resolved.schema is None:
            if sub is None and presence:
                return _Target(name, present=sa.true())
            raise InvalidFilter(f"{name} cannot be used in a filter")
        data, keys = self.table.c.data, self._keys(resolved)
        if attr.type != "complex":
            if attr.multi_valued:
                raise InvalidFilter(f"filtering on {name} is not supported")
            return _Target(name, leaf=json_leaf(self.json, data, keys, attr, name))
        if sub is None:
            if presence:
                return _Target(name, present=self._complex_present(resolved))
            # `manager eq "id"`, `emails eq "x"`: the value sub-attribute. Not for
            # ordering on a single-valued one (which value would be "greater"?).
            sub = attr.sub("value")
            if sub is None or (ordering and not attr.multi_valued):
                raise InvalidFilter(f"{name} is complex: name a sub-attribute to compare")
        if not attr.multi_valued:
            return _Target(name, leaf=json_leaf(self.json, data, (*keys, sub.name), sub, name))
        elements = self._elements(resolved, {sub.name.lower()})
        return _Target(name, elements=elements, sub=sub)

    def _keys(self, resolved: Resolved) -> tuple[str, ...]:
        """JSON keys of the (top-level) attribute in `data`: extension attributes sit
        under their schema URN, core ones at the top."""
        if resolved.schema is not None and resolved.schema != self.rt.schema.id:
            return (resolved.schema, resolved.attribute.name)
        return (resolved.attribute.name,)

    def _complex_present(self, resolved: Resolved) -> Pred:
        attr = resolved.attribute
        if self.rt.name == "Group" and attr.name == "members":
            return self.table.c.member_count > 0
        if self.rt.name == "User" and attr.name == "groups":
            return users.c.id.in_(
                sa.select(memberships.c.member_id).where(
                    memberships.c.tenant_id == self._tenant(),
                    memberships.c.member_type == "User",
                )
            )
        keys = self._keys(resolved)
        if attr.multi_valued:
            return self.json.is_nonempty_array(self.table.c.data, keys)
        return self.json.is_nonempty_object(self.table.c.data, keys)

    def _elements(self, resolved: Resolved, subs: set[str]) -> Elements:
        attr = resolved.attribute
        core = resolved.schema == self.rt.schema.id
        if self.rt.name == "Group" and core and attr.name == "members":
            return GroupMembers(attr, self._tenant())
        if self.rt.name == "User" and core and attr.name == "groups":
            return UserGroups(attr, self._tenant())
        if (
            self.rt.name == "User"
            and core
            and attr.name == "emails"
            and subs
            and (subs <= MIRRORED_EMAIL_SUBS)
        ):
            return EmailMirror(attr, self._tenant())
        return JsonElements(attr, self.json, self.table.c.data, self._keys(resolved))

    def _column_leaf(self, resolved: Resolved) -> Leaf | None:
        if resolved.schema not in (None, self.rt.schema.id):
            return None
        t, attr, name = self.table, resolved.leaf, resolved.dotted
        if name == "id":
            return string_leaf(name, t.c.id, attr)
        if name == "externalId":
            return string_leaf(name, t.c.external_id, attr)
        if name in ("meta.created", "meta.lastModified"):
            col = t.c.created if name == "meta.created" else t.c.last_modified
            return Leaf(name, "datetime", col)
        if name == "meta.version":
            # The ETag (scim.etag): W/"<version>".
            version = sa.literal('W/"') + sa.cast(t.c.version, sa.String) + sa.literal('"')
            return string_leaf(name, version, attr)
        if name == "meta.resourceType":
            return Leaf(name, "const", const=self.rt.name, case_exact=attr.case_exact)
        if t is users:
            if name == "userName":
                return string_leaf(name, users.c.user_name_ci, attr, folded=True)
            if name == "displayName":
                return string_leaf(name, users.c.display_name, attr)
            if name == "active":
                return bool_column(name, users.c.active)
        elif name == "displayName":
            return string_leaf(name, groups.c.display_name_ci, attr, folded=True)
        return None


def _subs_in(f: Filter) -> set[str]:
    """Sub-attribute names a value filter uses (lower-cased), to pick a storage."""
    if isinstance(f, And | Or):
        return _subs_in(f.left) | _subs_in(f.right)
    if isinstance(f, Not):
        return _subs_in(f.expr)
    if isinstance(f, Compare | Present):
        return {f.path.attr.lower()}
    return {"?"}


def compile_filter(rt: ResourceType, f: Filter, *, dialect: str, tenant_id: str) -> Pred:
    """The WHERE condition for `f` on the resource type's table (`users` or `groups`);
    the caller adds `tenant_id = ?`. Raises InvalidFilter."""
    return FilterCompiler(rt, dialect, tenant_id).compile(f)


def compile_member_filter(f: Filter, *, dialect: str) -> Pred:
    """A condition on `memberships` rows for a filter relative to a member (value, type,
    display), as in `members[value eq "…"]` of a PATCH remove. Raises InvalidFilter."""
    members = GROUP.schema.attribute("members")
    assert members is not None
    return FilterCompiler(GROUP, dialect, None)._node(f, GroupMembers(members, None))
