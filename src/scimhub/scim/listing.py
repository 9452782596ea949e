"""Query parameters of list and search requests and the ListResponse (RFC 7644 §3.4.2,
§3.4.3) with RFC 9865 cursors. STUB: signatures are the contract."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scimhub.scim.filter import AttrPath, Filter
from scimhub.scim.projection import Projection

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


def parse_query_params(params: Mapping[str, str], *, default_count: int, max_count: int) -> ListQuery:
    """From a GET's query string. Unknown parameters are ignored. Raises InvalidFilter,
    InvalidValue (non-numeric startIndex/count), InvalidCursor."""
    raise NotImplementedError


def parse_search_body(body: Any, *, default_count: int, max_count: int) -> ListQuery:
    """From a POST .search body (RFC 7644 §3.4.3)."""
    raise NotImplementedError


def list_response(
    resources: list[dict[str, Any]],
    *,
    total: int | None,
    start_index: int | None,
    next_cursor: str | None = None,
    previous_cursor: str | None = None,
) -> dict[str, Any]:
    raise NotImplementedError


def encode_cursor(key: tuple[Any, ...], fingerprint: str) -> str:
    """An opaque cursor for the page after `key`, bound to the query `fingerprint`."""
    raise NotImplementedError


def decode_cursor(cursor: str, fingerprint: str) -> tuple[Any, ...]:
    """Raises InvalidCursor when malformed, tampered with, or from another query."""
    raise NotImplementedError


def fingerprint(query: ListQuery, resource_type: str) -> str:
    """What a cursor is bound to: resource type, filter and sort."""
    raise NotImplementedError
