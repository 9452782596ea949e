"""Attribute and schema definitions (RFC 7643 §2.2, §7) and resource types (§6).

Lookups by name are case-insensitive (RFC 7643 §2.1); the canonical spelling is the
one written here and is the one stored and returned."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

AttrType = Literal[
    "string", "boolean", "decimal", "integer", "dateTime", "binary", "reference", "complex"
]
Mutability = Literal["readOnly", "readWrite", "immutable", "writeOnly"]
Returned = Literal["always", "never", "default", "request"]
Uniqueness = Literal["none", "server", "global"]

SCHEMA_URN = "urn:ietf:params:scim:schemas:core:2.0:Schema"


@dataclass(frozen=True, slots=True)
class Attribute:
    name: str
    type: AttrType = "string"
    multi_valued: bool = False
    required: bool = False
    case_exact: bool = False
    mutability: Mutability = "readWrite"
    returned: Returned = "default"
    uniqueness: Uniqueness = "none"
    canonical_values: tuple[str, ...] = ()
    reference_types: tuple[str, ...] = ()
    sub_attributes: tuple[Attribute, ...] = ()
    description: str = ""
    _subs: dict[str, Attribute] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._subs.update({s.name.lower(): s for s in self.sub_attributes})

    def sub(self, name: str) -> Attribute | None:
        return self._subs.get(name.lower())

    def to_scim(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "multiValued": self.multi_valued,
            "description": self.description,
            "required": self.required,
            "caseExact": self.case_exact,
            "mutability": self.mutability,
            "returned": self.returned,
            "uniqueness": self.uniqueness,
        }
        if self.canonical_values:
            doc["canonicalValues"] = list(self.canonical_values)
        if self.reference_types:
            doc["referenceTypes"] = list(self.reference_types)
        if self.sub_attributes:
            doc["subAttributes"] = [s.to_scim() for s in self.sub_attributes]
        return doc


@dataclass(frozen=True, slots=True)
class Schema:
    id: str
    name: str
    description: str
    attributes: tuple[Attribute, ...]
    _attrs: dict[str, Attribute] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._attrs.update({a.name.lower(): a for a in self.attributes})

    def attribute(self, name: str) -> Attribute | None:
        return self._attrs.get(name.lower())

    def to_scim(self, location: str) -> dict[str, Any]:
        return {
            "schemas": [SCHEMA_URN],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": [a.to_scim() for a in self.attributes],
            "meta": {"resourceType": "Schema", "location": location},
        }


# -- building blocks ----------------------------------------------------------------------


def _s(name: str, **kw: Any) -> Attribute:
    return Attribute(name, "string", **kw)


def _b(name: str, **kw: Any) -> Attribute:
    return Attribute(name, "boolean", **kw)


def _ref(name: str, types: tuple[str, ...], **kw: Any) -> Attribute:
    return Attribute(name, "reference", reference_types=types, **kw)


def _complex(name: str, subs: tuple[Attribute, ...], **kw: Any) -> Attribute:
    return Attribute(name, "complex", sub_attributes=subs, **kw)


def _multi(
    name: str,
    *,
    value: Attribute | None = None,
    types: tuple[str, ...] = (),
    extra: tuple[Attribute, ...] = (),
    **kw: Any,
) -> Attribute:
    """The usual multi-valued shape of RFC 7643 §2.4: value, display, type, primary."""
    subs = (
        value or _s("value"),
        _s("display"),
        _s("type", canonical_values=types),
        _b("primary"),
        *extra,
    )
    return Attribute(name, "complex", multi_valued=True, sub_attributes=subs, **kw)


# -- common attributes (RFC 7643 §3.1) ---------------------------------------------------

COMMON_ATTRIBUTES: tuple[Attribute, ...] = (
    _s("id", case_exact=True, mutability="readOnly", returned="always", uniqueness="server"),
    _s("externalId", case_exact=True),
    _complex(
        "meta",
        (
            _s("resourceType", case_exact=True, mutability="readOnly"),
            Attribute("created", "dateTime", mutability="readOnly"),
            Attribute("lastModified", "dateTime", mutability="readOnly"),
            _ref("location", ("uri",), case_exact=True, mutability="readOnly"),
            _s("version", case_exact=True, mutability="readOnly"),
        ),
        mutability="readOnly",
    ),
)

# -- User (RFC 7643 §4.1, §8.7.1) -------------------------------------------------------

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_USER_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

USER_SCHEMA = Schema(
    USER_URN,
    "User",
    "User Account",
    (
        _s("userName", required=True, uniqueness="server"),
        _complex(
            "name",
            (
                _s("formatted"),
                _s("familyName"),
                _s("givenName"),
                _s("middleName"),
                _s("honorificPrefix"),
                _s("honorificSuffix"),
            ),
        ),
        _s("displayName"),
        _s("nickName"),
        _ref("profileUrl", ("external",)),
        _s("title"),
        _s("userType"),
        _s("preferredLanguage"),
        _s("locale"),
        _s("timezone"),
        _b("active"),
        _s("password", mutability="writeOnly", returned="never"),
        _multi("emails", types=("work", "home", "other")),
        _multi("phoneNumbers", types=("work", "home", "mobile", "fax", "pager", "other")),
        _multi("ims", types=("aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo")),
        _multi(
            "photos",
            value=_ref("value", ("external",)),
            types=("photo", "thumbnail"),
        ),
        Attribute(
            "addresses",
            "complex",
            multi_valued=True,
            sub_attributes=(
                _s("formatted"),
                _s("streetAddress"),
                _s("locality"),
                _s("region"),
                _s("postalCode"),
                _s("country"),
                _s("type", canonical_values=("work", "home", "other")),
                _b("primary"),
            ),
        ),
        Attribute(
            "groups",
            "complex",
            multi_valued=True,
            mutability="readOnly",
            sub_attributes=(
                _s("value", mutability="readOnly"),
                _ref("$ref", ("User", "Group"), mutability="readOnly"),
                _s("display", mutability="readOnly"),
                _s("type", canonical_values=("direct", "indirect"), mutability="readOnly"),
            ),
        ),
        _multi("entitlements"),
        _multi("roles"),
        _multi("x509Certificates", value=Attribute("value", "binary")),
    ),
)

ENTERPRISE_USER_SCHEMA = Schema(
    ENTERPRISE_USER_URN,
    "EnterpriseUser",
    "Enterprise User",
    (
        _s("employeeNumber"),
        _s("costCenter"),
        _s("organization"),
        _s("division"),
        _s("department"),
        _complex(
            "manager",
            (
                _s("value"),
                _ref("$ref", ("User",)),
                _s("displayName", mutability="readOnly"),
            ),
        ),
    ),
)

# -- Group (RFC 7643 §4.2, §8.7.1) ------------------------------------------------------

GROUP_SCHEMA = Schema(
    GROUP_URN,
    "Group",
    "Group",
    (
        _s("displayName", required=True),
        Attribute(
            "members",
            "complex",
            multi_valued=True,
            sub_attributes=(
                _s("value", case_exact=True, mutability="immutable"),
                _ref("$ref", ("User", "Group"), mutability="immutable"),
                # Kept as the client sent it (RFC 7643 §4.2 names no source for it).
                _s("display", mutability="immutable"),
                _s("type", canonical_values=("User", "Group"), mutability="immutable"),
            ),
        ),
    ),
)


# -- resource types (RFC 7643 §6) -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Resolved:
    """An attribute path resolved against a resource type.

    `schema` is the URN that owns the attribute (`None` for common attributes such as
    `id`, `externalId` and `meta`); `attribute` is the top-level attribute and `sub` the
    sub-attribute, if the path names one."""

    schema: str | None
    attribute: Attribute
    sub: Attribute | None = None

    @property
    def leaf(self) -> Attribute:
        return self.sub or self.attribute

    @property
    def dotted(self) -> str:
        """Canonical `attr.sub` name, without URN."""
        return f"{self.attribute.name}.{self.sub.name}" if self.sub else self.attribute.name


@dataclass(frozen=True, slots=True)
class ResourceType:
    id: str
    name: str
    endpoint: str
    description: str
    schema: Schema
    extensions: tuple[tuple[Schema, bool], ...] = ()

    @property
    def schemas(self) -> tuple[Schema, ...]:
        return (self.schema, *(s for s, _ in self.extensions))

    def extension(self, urn: str) -> Schema | None:
        for ext, _ in self.extensions:
            if ext.id.lower() == urn.lower():
                return ext
        return None

    def top_level(self, name: str) -> tuple[str | None, Attribute] | None:
        """A core or common attribute by name: (owning schema URN or None, attribute)."""
        attr = self.schema.attribute(name)
        if attr is not None:
            return self.schema.id, attr
        for common in COMMON_ATTRIBUTES:
            if common.name.lower() == name.lower():
                return None, common
        return None

    def _unqualified_extension(self, name: str) -> tuple[str | None, Attribute] | None:
        """An extension attribute named without its URN. RFC 7644 §3.10 wants the URN,
        but Entra documents `"path": "manager"` and `manager eq "…"`; a name that exactly
        one extension defines is unambiguous."""
        owners = [(ext.id, a) for ext, _ in self.extensions if (a := ext.attribute(name))]
        return owners[0] if len(owners) == 1 else None

    def resolve(self, urn: str | None, attr: str, sub: str | None = None) -> Resolved | None:
        """Resolve `[urn:]attr[.sub]`; `None` when the path names nothing in this type."""
        if urn is not None:
            core = urn.lower() == self.schema.id.lower()
            schema = self.schema if core else self.extension(urn)
            if schema is None:
                return None
            found = schema.attribute(attr)
            owner: str | None = schema.id
            if found is None and schema is self.schema:
                common = self.top_level(attr)
                if common is None:
                    return None
                owner, found = common
        else:
            top = self.top_level(attr) or self._unqualified_extension(attr)
            if top is None:
                return None
            owner, found = top
        if found is None:
            return None
        if sub is None:
            return Resolved(owner, found)
        sub_attr = found.sub(sub)
        if sub_attr is None:
            return None
        return Resolved(owner, found, sub_attr)

    def to_scim(self, location: str) -> dict[str, Any]:
        return {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": self.id,
            "name": self.name,
            "endpoint": self.endpoint,
            "description": self.description,
            "schema": self.schema.id,
            "schemaExtensions": [
                {"schema": s.id, "required": required} for s, required in self.extensions
            ],
            "meta": {"resourceType": "ResourceType", "location": location},
        }


USER = ResourceType(
    "User",
    "User",
    "/Users",
    "User Account",
    USER_SCHEMA,
    ((ENTERPRISE_USER_SCHEMA, False),),
)
GROUP = ResourceType("Group", "Group", "/Groups", "Group", GROUP_SCHEMA)

RESOURCE_TYPES: tuple[ResourceType, ...] = (USER, GROUP)
SCHEMAS: tuple[Schema, ...] = (USER_SCHEMA, GROUP_SCHEMA, ENTERPRISE_USER_SCHEMA)
