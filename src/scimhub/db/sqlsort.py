"""`sortBy` (RFC 7644 §3.4.2.3) as an ORDER BY expression: the attribute's value, folded
when not caseExact, code point order; a multi-valued attribute sorts by its primary
value, else its first. Paging on it is in `scimhub.resources.sqlpaging`."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from scimhub.db.sqlfilter import FilterCompiler
from scimhub.db.sqlleaf import Expr, Leaf
from scimhub.db.tables import users
from scimhub.scim.errors import InvalidFilter
from scimhub.scim.filter import AttrPath
from scimhub.scim.schema import Attribute, ResourceType


@dataclass(frozen=True, slots=True)
class SortKey:
    """An ORDER BY expression for `sortBy` (RFC 7644 §3.4.2.3). `nullable`: resources
    without a value exist (they sort last ascending, first descending); `unique`: no two
    rows of a tenant share a value (no tie-breaker needed); `datetime`: the key is a
    UTCDateTime column (keyset values travel as ISO text)."""

    expr: Expr
    nullable: bool
    unique: bool = False
    datetime: bool = False


class _Sorter(FilterCompiler):
    def sort_key(self, path: AttrPath) -> SortKey | None:
        resolved = self._resolve(path)
        attr, sub, name = resolved.attribute, resolved.sub, resolved.dotted
        leaf = self._column_leaf(resolved)
        if leaf is not None:
            return self._column_key(leaf)
        if (
            (attr.name == "meta" and resolved.schema is None)
            or (self.rt.name == "Group" and attr.name == "members")
            or (self.rt.name == "User" and attr.name == "groups")
        ):
            raise InvalidFilter(f"cannot sort by {name}")
        data, keys = self.table.c.data, self._keys(resolved)
        if attr.type == "complex":
            # RFC 7644 §3.4.2.3: a complex attribute sorts by a sub-attribute; without
            # one, by its `value`.
            sub = sub or attr.sub("value")
            if sub is None:
                raise InvalidFilter(f"cannot sort by {name}: name a sub-attribute")
            if not attr.multi_valued:
                return self._json_key(data, (*keys, sub.name), sub, name)
            return self._element_key(data, keys, attr, sub, name)
        if attr.multi_valued:
            raise InvalidFilter(f"cannot sort by {name}")
        return self._json_key(data, keys, attr, name)

    def _column_key(self, leaf: Leaf) -> SortKey | None:
        if leaf.kind == "const":
            return None  # the same for every row: insertion order
        assert leaf.value is not None
        if leaf.kind == "datetime":
            return SortKey(leaf.value, nullable=False, datetime=True)
        if leaf.kind == "boolean":
            return SortKey(leaf.value, nullable=True)
        expr = leaf.value
        if not (leaf.case_exact or leaf.folded):
            expr = sa.func.lower(expr)
        nullable = leaf.name == "externalId" or (leaf.name == "displayName" and self.table is users)
        unique = leaf.name == "id" or (leaf.name == "userName" and self.table is users)
        return SortKey(self.cmp.order(expr), nullable=nullable, unique=unique)

    def _sort_value(self, doc: Expr, keys: tuple[str, ...], attr: Attribute, name: str) -> Expr:
        if attr.type == "boolean":
            return self.json.sort_bool(doc, keys)
        if attr.type not in ("string", "reference", "binary"):
            raise InvalidFilter(f"cannot sort by {name} ({attr.type})")
        text = self.json.text(doc, keys)
        return self.cmp.order(text if attr.case_exact else sa.func.lower(text))

    def _json_key(self, doc: Expr, keys: tuple[str, ...], attr: Attribute, name: str) -> SortKey:
        return SortKey(self._sort_value(doc, keys, attr, name), nullable=True)

    def _element_key(
        self, doc: Expr, keys: tuple[str, ...], attr: Attribute, sub: Attribute, name: str
    ) -> SortKey:
        # RFC 7644 §3.4.2.3: a multi-valued attribute sorts by its primary value if any,
        # else by its first value.
        els = self.json.elements(doc, keys)
        order: list[Expr] = []
        if attr.sub("primary") is not None:
            order.append(self.json.is_true(els.doc, ("primary",)).desc())
        order.append(els.ord)
        value = (
            sa.select(self._sort_value(els.doc, (sub.name,), sub, name))
            .select_from(els.source)
            .order_by(*order)
            .limit(1)
            .scalar_subquery()
        )
        return SortKey(value, nullable=True)


def sort_key(rt: ResourceType, path: AttrPath, *, dialect: str) -> SortKey | None:
    """The ORDER BY key for `sortBy=path`; None when every row has the same value (then
    rows keep insertion order). Raises InvalidFilter for a path that cannot sort."""
    return _Sorter(rt, dialect, None).sort_key(path)
