"""The discovery documents (RFC 7644 §4): `/ServiceProviderConfig` (RFC 7643 §5, with
RFC 9865 §4 `pagination`), `/ResourceTypes` (RFC 7643 §6) and `/Schemas` (RFC 7643 §7).

Pure builders; `base_url` is the tenant's SCIM root (`https://host/scim/v2/acme`), and
every `meta.location` is built from it. The web layer wraps the lists in a ListResponse
(`listing.list_response(docs, total=len(docs), start_index=1)`)."""

from __future__ import annotations

from typing import Any

from scimhub.scim.errors import NotFound
from scimhub.scim.schema import RESOURCE_TYPES, SCHEMAS
from scimhub.settings import Settings

SERVICE_PROVIDER_CONFIG_URN = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"


def _root(base_url: str) -> str:
    return base_url.rstrip("/")


def service_provider_config(
    settings: Settings, base_url: str, *, documentation_uri: str | None = None
) -> dict[str, Any]:
    """RFC 7643 §5. Every sub-attribute the RFC marks REQUIRED is present."""
    doc: dict[str, Any] = {"schemas": [SERVICE_PROVIDER_CONFIG_URN]}
    if documentation_uri:
        doc["documentationUri"] = documentation_uri
    doc.update(
        {
            "patch": {"supported": True},
            # RFC 7644 §3.7.4: the limits are advertised here and enforced (413).
            "bulk": {
                "supported": True,
                "maxOperations": settings.bulk_max_operations,
                "maxPayloadSize": settings.bulk_max_payload_bytes,
            },
            "filter": {"supported": True, "maxResults": settings.max_page_size},
            "changePassword": {"supported": False},
            "sort": {"supported": True},
            "etag": {"supported": True},
            "authenticationSchemes": [
                {
                    "type": "oauthbearertoken",
                    "name": "OAuth Bearer Token",
                    "description": "Authentication with a per-tenant bearer token "
                    "(Authorization: Bearer <token>)",
                    "specUri": "https://www.rfc-editor.org/info/rfc6750",
                    "primary": True,
                }
            ],
            # RFC 9865 §4. Index stays the default (§2.4: providers that had index
            # paging keep it, Okta and Entra expect it). Cursors are stateless keysets
            # that do not expire, so no cursorTimeout ("no value ... may mean that
            # there is no cursor timeout").
            "pagination": {
                "cursor": True,
                "index": True,
                "defaultPaginationMethod": "index",
                "defaultPageSize": settings.default_page_size,
                "maxPageSize": settings.max_page_size,
            },
            "meta": {
                "resourceType": "ServiceProviderConfig",
                "location": f"{_root(base_url)}/ServiceProviderConfig",
            },
        }
    )
    return doc


def resource_types(base_url: str) -> list[dict[str, Any]]:
    """RFC 7643 §6: one document per resource type."""
    root = _root(base_url)
    return [rt.to_scim(f"{root}/ResourceTypes/{rt.id}") for rt in RESOURCE_TYPES]


def resource_type(id: str, base_url: str) -> dict[str, Any]:
    """`/ResourceTypes/{id}`; the id matches case-insensitively. Raises NotFound."""
    for rt in RESOURCE_TYPES:
        if rt.id.lower() == id.lower():
            return rt.to_scim(f"{_root(base_url)}/ResourceTypes/{rt.id}")
    raise NotFound(f"no resource type {id!r}")


def schemas(base_url: str) -> list[dict[str, Any]]:
    """RFC 7643 §7: the User, Group and Enterprise User schemas."""
    root = _root(base_url)
    return [s.to_scim(f"{root}/Schemas/{s.id}") for s in SCHEMAS]


def schema(id: str, base_url: str) -> dict[str, Any]:
    """`/Schemas/{urn}`; the URN matches case-insensitively. Raises NotFound."""
    for s in SCHEMAS:
        if s.id.lower() == id.lower():
            return s.to_scim(f"{_root(base_url)}/Schemas/{s.id}")
    raise NotFound(f"no schema {id!r}")
