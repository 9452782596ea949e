"""Query parameters of list and search requests and the ListResponse (RFC 7644 §3.4.2,
§3.4.3) with RFC 9865 cursors.

Decided where the RFCs are silent (or leave it to the service provider):
- Parameter names match case-insensitively (`startindex=1` works); the exact spelling
  wins if a name comes twice. Unknown parameters are ignored (Entra appends
  `?aadOptscim062020` to every request).
- `count` above `max_count` is lowered to it (RFC 7644 §3.4.2.4: the provider "MAY
  return fewer results"), not refused with RFC 9865's `invalidCount`; a negative
  `count` means 0 (RFC 7644 §3.4.2.4, RFC 9865 §2). A cursor does not bind `count`:
  keyset cursors stay exact whatever the page size, so clients may change it.
- `startIndex` together with `cursor` is a 400 `invalidValue` (RFC 9865 §2.4 lets a
  client pick one method with one of them; both at once is contradictory).
- Non-integer `startIndex`/`count`, a bad `sortBy` path or a `sortOrder` other than
  ascending/descending (any case) are 400 `invalidValue`.
- Cursors (RFC 9865 §2) are `<payload>.<mac>`, both base64url without padding, so only
  RFC 3986 unreserved characters. The payload is the JSON keyset of the last row of the
  previous page; the HMAC-SHA256 covers the payload and the query fingerprint (resource
  type, filter, sort), so a tampered cursor or one from another query is `invalidCursor`.
  Cursors carry no state on the server and do not expire (no `cursorTimeout`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scimhub.scim.errors import InvalidCursor, InvalidSyntax, InvalidValue
from scimhub.scim.filter import AttrPath, Filter, parse_attr_path, parse_filter, render_filter
from scimhub.scim.projection import Projection
from scimhub.settings import Settings

MAX_START_INDEX = 2**31

LIST_RESPONSE_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SEARCH_REQUEST_URN = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


@dataclass(frozen=True, slots=True)
class ListQuery:
    filter: Filter | None
    sort_by: AttrPath | None
    descending: bool
    start_index: int  # 1-based
    count: int  # already clamped to [0, max]
    cursor: str | None  # None: index paging; "" : first page of cursor paging
    projection: Projection


_PARAMS = (
    "filter",
    "sortBy",
    "sortOrder",
    "startIndex",
    "count",
    "cursor",
    "attributes",
    "excludedAttributes",
)
_CANONICAL = {p.lower(): p for p in _PARAMS}


def _pick(items: Mapping[str, Any]) -> dict[str, Any]:
    """Known parameters by canonical name, matched case-insensitively."""
    found: dict[str, Any] = {}
    for key, value in items.items():
        name = _CANONICAL.get(key.lower())
        if name is not None and (key == name or name not in found):
            found[name] = value
    return found


def parse_query_params(
    params: Mapping[str, str], *, default_count: int, max_count: int
) -> ListQuery:
    """From a GET's query string. Unknown parameters are ignored. Raises InvalidFilter,
    InvalidValue (non-numeric startIndex/count), InvalidCursor."""
    return _build(_pick(params), default_count=default_count, max_count=max_count)


def parse_search_body(body: Any, *, default_count: int, max_count: int) -> ListQuery:
    """From a POST .search body (RFC 7644 §3.4.3)."""
    if not isinstance(body, dict):
        raise InvalidSyntax("a SearchRequest body must be a JSON object")
    fields = _pick(body)
    schemas = next((v for k, v in body.items() if k.lower() == "schemas"), None)
    # Lenient: `schemas` may be missing, but if given it must name SearchRequest.
    if schemas is not None and not (
        isinstance(schemas, list)
        and any(isinstance(s, str) and s.lower() == SEARCH_REQUEST_URN.lower() for s in schemas)
    ):
        raise InvalidSyntax(f"schemas must contain {SEARCH_REQUEST_URN}")
    for name in ("filter", "sortBy", "sortOrder", "cursor"):
        value = fields.get(name)
        if value is not None and not isinstance(value, str):
            raise InvalidValue(f"{name} must be a string")
    for name in ("attributes", "excludedAttributes"):
        value = fields.get(name)
        if value is not None and not (
            isinstance(value, str)
            or (isinstance(value, list) and all(isinstance(v, str) for v in value))
        ):
            raise InvalidValue(f"{name} must be a list of strings")
    for name in ("startIndex", "count"):
        value = fields.get(name)
        if isinstance(value, bool) or (value is not None and not isinstance(value, int | str)):
            raise InvalidValue(f"{name} must be an integer")
    # JSON null is the same as absent (RFC 7643 §2.5).
    present = {k: v for k, v in fields.items() if v is not None}
    return _build(present, default_count=default_count, max_count=max_count)


def _integer(name: str, value: Any) -> int:
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        raise InvalidValue(f"{name} must be an integer, not {str(value)[:40]!r}") from None


def _build(fields: dict[str, Any], *, default_count: int, max_count: int) -> ListQuery:
    text = fields.get("filter")
    # An empty `filter=` is no filter.
    flt = parse_filter(text) if isinstance(text, str) and text.strip() else None

    sort_by: AttrPath | None = None
    sort_text = fields.get("sortBy")
    if isinstance(sort_text, str) and sort_text.strip():
        sort_by = parse_attr_path(sort_text.strip(), InvalidValue)  # RFC 7644 §3.10 form
    order = str(fields.get("sortOrder") or "ascending").strip().lower()
    if order not in ("ascending", "descending"):
        raise InvalidValue('sortOrder must be "ascending" or "descending"')  # RFC 7644 §3.4.2.3

    # RFC 7644 §3.4.2.4: startIndex < 1 is 1; count < 0 is 0; above the maximum, fewer.
    start = max(1, _integer("startIndex", fields["startIndex"])) if "startIndex" in fields else 1
    # Past any real result set, and within what SQL OFFSET takes (a 64-bit integer).
    start = min(start, MAX_START_INDEX)
    count = default_count
    if "count" in fields:
        count = _integer("count", fields["count"])
    count = min(max(0, count), max_count)

    cursor = fields.get("cursor")
    if cursor is not None:
        cursor = str(cursor).strip()
        if "startIndex" in fields:
            raise InvalidValue("use either startIndex or cursor, not both (RFC 9865 §2.4)")

    return ListQuery(
        filter=flt,
        sort_by=sort_by,
        descending=order == "descending",
        start_index=start,
        count=count,
        cursor=cursor,
        projection=Projection.parse(fields.get("attributes"), fields.get("excludedAttributes")),
    )


def list_response(
    resources: list[dict[str, Any]],
    *,
    total: int | None,
    start_index: int | None,
    next_cursor: str | None = None,
    previous_cursor: str | None = None,
) -> dict[str, Any]:
    """RFC 7644 §3.4.2 ListResponse; integers as integers (Okta checks). `total` None
    omits totalResults (allowed with cursors only, RFC 9865 §2); `start_index` None
    omits startIndex (cursor paging). nextCursor is absent on the last page and
    previousCursor on the first (RFC 9865 §2, Table 2)."""
    body: dict[str, Any] = {"schemas": [LIST_RESPONSE_URN]}
    if total is not None:
        body["totalResults"] = int(total)
    body["itemsPerPage"] = len(resources)
    if start_index is not None:
        body["startIndex"] = int(start_index)
    if next_cursor:
        body["nextCursor"] = next_cursor
    if previous_cursor:
        body["previousCursor"] = previous_cursor
    body["Resources"] = resources
    return body


# -- cursors (RFC 9865) -------------------------------------------------------------------

# The key when a caller passes none: random per process. The service passes
# `cursor_secret(settings)`, so cursors cross workers and restarts.
_secret: bytes = secrets.token_bytes(32)


def cursor_secret(settings: Settings) -> bytes:
    """The signing key: `cursor_secret`, or else one derived from the database URL, so
    every worker and every restart against the same database agrees on it."""
    if settings.cursor_secret:
        return settings.cursor_secret.encode()
    return hashlib.sha256(b"scimhub-cursor\0" + settings.database_url.encode()).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, fingerprint: str, payload: str) -> str:
    message = f"{fingerprint}\0{payload}".encode()
    return _b64(hmac.new(secret, message, hashlib.sha256).digest()[:18])


def encode_cursor(key: tuple[Any, ...], fingerprint: str, *, secret: bytes | None = None) -> str:
    """An opaque cursor for the page after `key`, bound to the query `fingerprint`."""
    payload = _b64(json.dumps(list(key), separators=(",", ":"), ensure_ascii=False).encode())
    return f"{payload}.{_mac(secret or _secret, fingerprint, payload)}"


def decode_cursor(cursor: str, fingerprint: str, *, secret: bytes | None = None) -> tuple[Any, ...]:
    """Raises InvalidCursor when malformed, tampered with, or from another query."""
    # RFC 9865 §5.2: one message for every bad cursor, whatever the reason.
    invalid = InvalidCursor(
        "the cursor is invalid: send an empty cursor for the first page, then the "
        "nextCursor of the previous response with otherwise identical parameters"
    )
    payload, dot, mac = cursor.partition(".")
    if not dot or not payload or len(cursor) > 4096:
        raise invalid
    if not hmac.compare_digest(mac, _mac(secret or _secret, fingerprint, payload)):
        raise invalid
    try:
        key = json.loads(_unb64(payload))
    except (ValueError, binascii.Error):
        raise invalid from None
    if not isinstance(key, list):
        raise invalid
    return tuple(key)


def fingerprint(query: ListQuery, resource_type: str) -> str:
    """What a cursor is bound to: resource type, filter and sort. Not the projection or
    count, which do not move the position. Callers may fold more in (a tenant id)
    through `resource_type`."""
    parts = [
        resource_type,
        render_filter(query.filter) if query.filter is not None else "",
        str(query.sort_by).lower() if query.sort_by is not None else "",
        "desc" if query.descending else "asc",
    ]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]
