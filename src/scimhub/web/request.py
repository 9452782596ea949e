"""Reading a SCIM request: body size and media type, JSON, headers (RFC 7644 §3.1, §8.1)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from scimhub.resources.service import Preconditions
from scimhub.scim.errors import InvalidSyntax, PayloadTooLarge, UnsupportedMediaType
from scimhub.scim.jsontext import parse
from scimhub.scim.projection import Projection
from scimhub.settings import Settings

# Okta's spec test posts application/json; SCIM clients send application/scim+json; both
# may carry `; charset=utf-8` (behaviour.md §0.9). Bodiless requests are not checked.
_JSON_TYPES = ("application/json", "application/scim+json")


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused with 413 past `limit` bytes without reading all of it."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the request body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the request body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(request: Request, raw: bytes) -> Any:
    media = _media_type(request)
    if media and media not in _JSON_TYPES and not media.endswith("+json"):
        raise UnsupportedMediaType(f"unsupported Content-Type {media!r}; use application/scim+json")
    if not raw.strip():
        raise InvalidSyntax("the request body is empty")
    try:
        return parse(raw)
    except ValueError as exc:
        raise InvalidSyntax(f"the request body is not valid JSON: {exc}") from None


def projection_of(request: Request) -> Projection:
    params = request.query_params
    return Projection.parse(_param(params, "attributes"), _param(params, "excludedAttributes"))


def _param(params: Any, name: str) -> str | None:
    # Parameter names are matched case-insensitively: IdPs differ in spelling.
    lowered = name.lower()
    for key, value in params.items():
        if key.lower() == lowered:
            return str(value)
    return None


def scim_base_url(
    settings: Settings, request: Request, slug: str, provider: str | None = None
) -> str:
    """A tenant's SCIM base URL (and provider segment): on `public_url` when set, else on
    the request's origin. Used for `meta.location`, `$ref` and the admin settings view."""
    origin = settings.public_url.rstrip("/")
    if not origin:
        origin = f"{request.url.scheme}://{request.url.netloc}"
    base = f"{origin}/scim/v2/{slug}"
    return f"{base}/{provider}" if provider else base


def preconditions_of(request: Request) -> Preconditions:
    return Preconditions(
        if_match=request.headers.get("if-match"),
        if_none_match=request.headers.get("if-none-match"),
    )
