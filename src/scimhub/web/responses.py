"""SCIM responses: `application/scim+json` bodies (RFC 7644 §3.1, §8.1)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from scimhub.scim.errors import ScimError
from scimhub.scim.jsontext import to_bytes

SCIM_MEDIA_TYPE = "application/scim+json"


class ScimResponse(Response):
    media_type = SCIM_MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        if content is None:
            return b""
        return to_bytes(content)


def error_response(error: ScimError, headers: dict[str, str] | None = None) -> ScimResponse:
    return ScimResponse(error.to_dict(), status_code=error.status, headers=headers)
