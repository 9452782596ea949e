"""SCIM responses: `application/scim+json` bodies (RFC 7644 §3.1, §8.1)."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from scimhub.scim.errors import ScimError

SCIM_MEDIA_TYPE = "application/scim+json"


class ScimResponse(Response):
    media_type = SCIM_MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        if content is None:
            return b""
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()


def error_response(error: ScimError, headers: dict[str, str] | None = None) -> ScimResponse:
    return ScimResponse(error.to_dict(), status_code=error.status, headers=headers)
