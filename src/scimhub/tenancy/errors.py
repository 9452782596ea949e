"""Errors of the tenancy domain. Each carries a stable `code` (for the admin API's JSON
errors and `--json` CLI output) and the HTTP status the admin API answers with."""

from __future__ import annotations


class DomainError(Exception):
    """A refusal of the tenancy domain: `code` is stable, the message is for people."""

    code: str = "error"
    status: int = 400

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class NotFound(DomainError):
    code = "not_found"
    status = 404


class InvalidInput(DomainError, ValueError):
    """Malformed input (a ValueError too, so older callers that catch ValueError work)."""

    code = "invalid_input"
    status = 400


class Conflict(DomainError):
    code = "conflict"
    status = 409


class TenantExists(Conflict):
    """A tenant with this slug exists already."""

    code = "tenant_exists"


class GateRefused(DomainError):
    """A gate (tenant status, SCIM enabled, plan, SSO) refuses; `code` is the refusal's."""

    code = "gate_refused"
    status = 409


class Forbidden(DomainError):
    code = "forbidden"
    status = 403
