"""Every admin API error is `{"error": {"code": "<stable_code>", "message": "…"}}`, with
`field` added when one input field is at fault. Codes are stable; messages are for
people. This module turns every exception into that shape, in one place:

- `ApiError` (raised by the admin routes) and the tenancy domain's `DomainError` carry
  their status and code;
- FastAPI's request validation errors become 400 `invalid_request` naming the field;
- Starlette's HTTP exceptions (unknown route, wrong method) become `not_found` /
  `method_not_allowed`;
- a SCIM protocol error from the reused SCIM core (a bad filter, cursor or `sortBy`)
  keeps its status, with its `scimType` as the code (`invalidFilter` → `invalid_filter`);
- anything else is a bug: logged, and answered with 500 `internal_error` (never a
  traceback)."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scimhub.scim.errors import ScimError
from scimhub.tenancy.errors import DomainError

log = logging.getLogger("scimhub.admin")

WWW_AUTHENTICATE = 'Bearer realm="scimhub-admin"'

# Codes for the statuses that carry no more specific one.
_STATUS_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    500: "internal_error",
}


class ApiError(Exception):
    """An error the admin API reports as it is."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers


def unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"www-authenticate": WWW_AUTHENTICATE})


def forbidden(message: str) -> ApiError:
    return ApiError(403, "forbidden", message)


def not_found(message: str) -> ApiError:
    return ApiError(404, "not_found", message)


def invalid(message: str, field: str | None = None) -> ApiError:
    return ApiError(400, "invalid_request", message, field=field)


# -- the documented shape ---------------------------------------------------------------


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable, machine-readable code, e.g. `forbidden`.")
    message: str = Field(description="What went wrong, for people.")
    field: str | None = Field(
        default=None,
        description="The input at fault, when there is one (e.g. `body.slug`, `query.count`).",
    )


class ErrorResponse(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


_DESCRIPTIONS = {
    400: "Invalid request (`invalid_request`, or a more specific code such as "
    "`invalid_filter` or `invalid_input`).",
    401: "Missing or invalid admin key (`unauthorized`).",
    403: "The key's role may not do this (`forbidden`; the message names the role needed).",
    404: "No such tenant, resource or route for this key (`not_found` and domain codes). "
    "A tenant the key may not see is reported exactly like a tenant that does not exist.",
    409: "Refused by the domain: the code names why (`tenant_exists`, `conflict`, or a "
    "gate: `tenant_suspended`, `scim_disabled`, `plan_excludes_scim`, "
    "`sso_not_configured`, `sso_not_active`).",
    413: "The request body is too large (`payload_too_large`).",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` entries for these error statuses."""
    return {
        status: {"model": ErrorResponse, "description": _DESCRIPTIONS[status]}
        for status in statuses
    }


# -- rendering ---------------------------------------------------------------------------


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    detail: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        detail["field"] = field
    return {"error": detail}


def error_json(
    status: int,
    code: str,
    message: str,
    *,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(code, message, field), status_code=status, headers=headers)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _field_name(location: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in location)


def _validation_message(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "invalid value"))
    # Pydantic prefixes errors raised by validators; the prefix says nothing to a client.
    return message.removeprefix("Value error, ")


async def _on_api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_json(exc.status, exc.code, exc.message, field=exc.field, headers=exc.headers)


async def _on_domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return error_json(exc.status, exc.code, exc.message)


async def _on_scim_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ScimError)
    code = _snake(exc.scim_type) if exc.scim_type else _STATUS_CODES.get(exc.status, "error")
    return error_json(exc.status, code, exc.detail)


async def _on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if not errors:
        return error_json(400, "invalid_request", "the request is invalid")
    first = errors[0]
    field = _field_name(tuple(first.get("loc", ())))
    message = _validation_message(first)
    if first.get("type") == "json_invalid":
        field, message = "body", "the body is not valid JSON"
    elif field:
        message = f"{field}: {message}"
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return error_json(400, "invalid_request", message, field=field or None)


async def _on_http_exception(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    code = _STATUS_CODES.get(status, "error")
    if status == 404:
        message = "no such admin API route"
    elif status == 405:
        message = "this method is not allowed on this route"
    else:
        message = str(exc.detail)
    return error_json(status, code, message, headers=dict(exc.headers or {}))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(DomainError, _on_domain_error)
    app.add_exception_handler(ScimError, _on_scim_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(HTTPException, _on_http_exception)


class InternalErrorMiddleware:
    """The last resort: an unexpected exception becomes 500 `internal_error` in the
    admin API's format (logged with its traceback), and does not propagate."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unhandled error in admin API request %s", scope.get("path"))
            if started:
                raise
            response = error_json(500, "internal_error", "internal error")
            await response(scope, receive, send)


class BodyLimitMiddleware:
    """413 `payload_too_large` for a body above `limit` bytes, before anything reads it
    (by its Content-Length, or while streaming when there is none)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > self.limit:
                    await self._refuse(scope, receive, send)
                    return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    # An HTTPException passes through FastAPI's body reading as it is.
                    raise HTTPException(413, f"the request body is larger than {self.limit} bytes")
            return message

        await self.app(scope, limited_receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_json(
            413, "payload_too_large", f"the request body is larger than {self.limit} bytes"
        )
        await response(scope, receive, send)
