"""Where the elements of a multi-valued (or complex) attribute are, for filters on its
sub-attributes (`emails.value`, `emails[type eq "work"]`, `members[value eq "…"]`): JSON
arrays in `data`, the `user_emails` mirror, or `memberships` rows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from scimhub.db.jsonsql import JsonSql
from scimhub.db.sqlleaf import Expr, Leaf, Pred, bool_column, string_leaf
from scimhub.db.tables import groups, memberships, user_emails, users
from scimhub.scim.errors import InvalidFilter
from scimhub.scim.filter import AttrPath
from scimhub.scim.schema import Attribute

# Our ids are lower-case UUIDs: lower(id) == id, so a caseExact=false comparison of an id
# (User `groups.value`) may compare the column itself, with its index.
_LOWERCASE_IDS = True


class Elements:
    """Where the elements of a multi-valued attribute are, and how to read their
    sub-attributes. `exists(pred)` is true when one element satisfies `pred`."""

    attribute: Attribute

    def leaf(self, sub: Attribute) -> Leaf:
        raise NotImplementedError

    def exists(self, build: Callable[[Elements], Pred]) -> Pred:
        raise NotImplementedError


def sub_of(attribute: Attribute, path: AttrPath) -> Attribute:
    if path.urn is not None or path.sub is not None:
        raise InvalidFilter(f"{path} is not a sub-attribute of {attribute.name}")
    sub = attribute.sub(path.attr)
    if sub is None:
        raise InvalidFilter(f"{attribute.name} has no sub-attribute {path.attr!r}")
    return sub


@dataclass
class JsonElements(Elements):
    attribute: Attribute
    json: JsonSql
    doc: Expr  # the containing document
    keys: tuple[str, ...]  # path to the array (or to the object, if single-valued)
    element_doc: Expr | None = None  # set inside exists()

    def leaf(self, sub: Attribute) -> Leaf:
        assert self.element_doc is not None
        return json_leaf(self.json, self.element_doc, (sub.name,), sub, sub.name)

    def exists(self, build: Callable[[Elements], Pred]) -> Pred:
        if not self.attribute.multi_valued:
            # A single-valued complex attribute is one element when present.
            inner = JsonElements(
                self.attribute,
                self.json,
                self.doc,
                self.keys,
                self.json.sub_doc(self.doc, self.keys),
            )
            return sa.and_(self.json.is_nonempty_object(self.doc, self.keys), build(inner))
        els = self.json.elements(self.doc, self.keys)
        inner = JsonElements(self.attribute, self.json, self.doc, self.keys, els.doc)
        return sa.exists().select_from(els.source).where(build(inner))


@dataclass
class EmailMirror(Elements):
    attribute: Attribute
    tenant_id: str

    def leaf(self, sub: Attribute) -> Leaf:
        name = f"emails.{sub.name}"
        if sub.name == "value":
            return string_leaf(name, user_emails.c.value_ci, sub, folded=True)
        if sub.name == "type":
            return string_leaf(name, user_emails.c.type, sub, folded=True)
        if sub.name == "primary":
            return bool_column(name, user_emails.c.primary)
        raise AssertionError(f"emails.{sub.name} is not mirrored")

    def exists(self, build: Callable[[Elements], Pred]) -> Pred:
        # IN (uncorrelated): driven by the (tenant_id, value_ci) index.
        return users.c.id.in_(
            sa.select(user_emails.c.user_id).where(
                user_emails.c.tenant_id == self.tenant_id, build(self)
            )
        )


@dataclass
class GroupMembers(Elements):
    """A Group's `members`: rows of `memberships` with group_id = the group."""

    attribute: Attribute
    tenant_id: str | None

    def leaf(self, sub: Attribute) -> Leaf:
        name = f"members.{sub.name}"
        if sub.name == "value":
            return string_leaf(name, memberships.c.member_id, sub)
        if sub.name == "type":
            return string_leaf(name, memberships.c.member_type, sub)
        if sub.name == "display":
            return string_leaf(name, memberships.c.display, sub)
        raise InvalidFilter(f"members.{sub.name} cannot be used in a filter")

    def exists(self, build: Callable[[Elements], Pred]) -> Pred:
        assert self.tenant_id is not None
        return groups.c.id.in_(
            sa.select(memberships.c.group_id).where(
                memberships.c.tenant_id == self.tenant_id, build(self)
            )
        )


@dataclass
class UserGroups(Elements):
    """A User's `groups` (direct memberships): rows of `memberships` naming the user."""

    attribute: Attribute
    tenant_id: str

    def leaf(self, sub: Attribute) -> Leaf:
        name = f"groups.{sub.name}"
        if sub.name == "value":
            return string_leaf(name, memberships.c.group_id, sub, folded=_LOWERCASE_IDS)
        if sub.name == "display":
            display = (
                sa.select(groups.c.display_name_ci)
                .where(groups.c.id == memberships.c.group_id)
                .scalar_subquery()
            )
            return string_leaf(name, display, sub, folded=True)
        if sub.name == "type":
            return Leaf(name, "const", const="direct", case_exact=sub.case_exact)
        raise InvalidFilter(f"groups.{sub.name} cannot be used in a filter")

    def exists(self, build: Callable[[Elements], Pred]) -> Pred:
        return users.c.id.in_(
            sa.select(memberships.c.member_id).where(
                memberships.c.tenant_id == self.tenant_id,
                memberships.c.member_type == "User",
                build(self),
            )
        )


def json_leaf(json: JsonSql, doc: Expr, keys: tuple[str, ...], attr: Attribute, name: str) -> Leaf:
    if attr.type == "boolean":
        return Leaf(
            name, "boolean", is_true=json.is_true(doc, keys), is_false=json.is_false(doc, keys)
        )
    if attr.type in ("string", "reference", "binary"):
        return string_leaf(name, json.text(doc, keys), attr)
    raise InvalidFilter(f"filtering on {name} ({attr.type}) is not supported")
