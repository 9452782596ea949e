"""A stored resource → its full SCIM representation (RFC 7643 §3, §3.1 `meta`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from scimhub.resources.store import Stored
from scimhub.scim.etag import etag
from scimhub.scim.schema import ResourceType

_ENDPOINT = {"User": "/Users", "Group": "/Groups"}


def timestamp(moment: datetime) -> str:
    """xsd:dateTime in UTC with microseconds, so `meta.lastModified gt <seen value>` never
    returns the same change twice."""
    global _last
    seen, text = _last
    if moment is seen:
        # A write renders the same instants several times (`created`, `lastModified`,
        # the response and the event); stored instants are already in UTC.
        return text
    utc = moment if moment.tzinfo is None or moment.tzinfo is UTC else moment.astimezone(UTC)
    # isoformat is a third faster than strftime; the first 26 characters are the same.
    text = utc.isoformat(timespec="microseconds")[:26] + "Z"
    _last = (moment, text)
    return text


# The last instant rendered and its text (replaced whole, so safe across threads).
_last: tuple[datetime | None, str] = (None, "")


def _reference(value: str, collection: str, display: str | None, kind: str) -> dict[str, Any]:
    ref: dict[str, Any] = {"value": value, "$ref": f"{collection}/{value}", "type": kind}
    if display is not None:
        ref["display"] = display
    return ref


def to_scim(rt: ResourceType, stored: Stored, base_url: str) -> dict[str, Any]:
    data = stored.data
    schemas = [rt.schema.id]
    schemas.extend(ext.id for ext, _ in rt.extensions if ext.id in data)
    resource: dict[str, Any] = {"schemas": schemas, "id": stored.id}
    resource.update(data)
    if stored.members is not None:
        resource["members"] = [
            _reference(m["value"], f"{base_url}{_ENDPOINT[m['type']]}", m.get("display"), m["type"])
            for m in stored.members
        ]
    if stored.groups is not None:
        resource["groups"] = [
            _reference(g["value"], f"{base_url}/Groups", g.get("display"), g["type"])
            for g in stored.groups
        ]
    resource["meta"] = {
        "resourceType": rt.name,
        "created": timestamp(stored.created),
        "lastModified": timestamp(stored.last_modified),
        "location": f"{base_url}{rt.endpoint}/{stored.id}",
        "version": etag(stored.version),
    }
    return resource
