"""Every error becomes a SCIM error response here, and only here (RFC 7644 §3.12).

A `ScimError` carries its status and scimType. Anything else is a bug: it is logged with
the request id and answered with a bare 500 SCIM error, never a traceback."""

from __future__ import annotations

import logging
import os

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scimhub.scim.errors import MethodNotAllowed, ScimError, Unauthorized
from scimhub.web.responses import error_response

log = logging.getLogger("scimhub.web")

# RFC 6750 §3: a 401 names the scheme the client must use.
WWW_AUTHENTICATE = 'Bearer realm="scimhub"'


class InternalError(ScimError):
    status = 500


class ErrorMiddleware:
    """Turns exceptions into SCIM responses and tags each request with an id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = os.urandom(16).hex()  # 128 random bits, cheaper than uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except ScimError as error:
            if started:
                raise
            headers = {"x-request-id": request_id}
            if isinstance(error, Unauthorized):
                headers["www-authenticate"] = WWW_AUTHENTICATE
            if isinstance(error, MethodNotAllowed) and error.allowed:
                headers["allow"] = ", ".join(error.allowed)
            await error_response(error, headers)(scope, receive, send)
        except Exception:
            log.exception("unhandled error in request %s", request_id)
            if started:
                raise
            internal = InternalError(f"internal error; request id {request_id}")
            await error_response(internal, {"x-request-id": request_id})(scope, receive, send)
