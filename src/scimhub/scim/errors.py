"""SCIM errors: one exception type per RFC 7644 §3.12 `scimType` (and per HTTP status
that carries none). The web layer turns any of them into a response in one place."""

from __future__ import annotations

from typing import Any, ClassVar

ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"


class ScimError(Exception):
    """Base of every error the SCIM protocol reports to a client."""

    status: ClassVar[int] = 400
    scim_type: ClassVar[str | None] = None

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def to_dict(self) -> dict[str, Any]:
        # RFC 7644 §3.12: "status" is a string.
        body: dict[str, Any] = {
            "schemas": [ERROR_URN],
            "status": str(self.status),
            "detail": self.detail,
        }
        if self.scim_type:
            body["scimType"] = self.scim_type
        return body


# -- 400 with a scimType (RFC 7644 §3.12, Table 9; RFC 9865 §4) -------------------------


class InvalidFilter(ScimError):
    scim_type = "invalidFilter"


class TooMany(ScimError):
    scim_type = "tooMany"


class Mutability(ScimError):
    scim_type = "mutability"


class InvalidSyntax(ScimError):
    scim_type = "invalidSyntax"


class InvalidPath(ScimError):
    scim_type = "invalidPath"


class NoTarget(ScimError):
    scim_type = "noTarget"


class InvalidValue(ScimError):
    scim_type = "invalidValue"


class InvalidVersion(ScimError):
    scim_type = "invalidVers"


class InvalidCursor(ScimError):
    # RFC 9865 §4: the cursor is malformed or does not belong to this query.
    scim_type = "invalidCursor"


class ExpiredCursor(ScimError):
    scim_type = "expiredCursor"


class Sensitive(ScimError):
    status = 403
    scim_type = "sensitive"


# -- other statuses ---------------------------------------------------------------------


class Uniqueness(ScimError):
    status = 409
    scim_type = "uniqueness"


class Unauthorized(ScimError):
    status = 401


class Forbidden(ScimError):
    status = 403


class NotFound(ScimError):
    status = 404


class MethodNotAllowed(ScimError):
    status = 405

    def __init__(self, detail: str, allowed: tuple[str, ...] = ()) -> None:
        super().__init__(detail)
        # RFC 9110 §15.5.6: a 405 lists the allowed methods in an Allow header.
        self.allowed = allowed


class Conflict(ScimError):
    """A write lost a race it could not retry (RFC 7644 §3.14 without If-Match)."""

    status = 409


class PreconditionFailed(ScimError):
    # RFC 7644 §3.14: If-Match does not match the current version.
    status = 412


class PayloadTooLarge(ScimError):
    status = 413


class UnsupportedMediaType(ScimError):
    status = 415


class NotImplementedByServer(ScimError):
    status = 501
