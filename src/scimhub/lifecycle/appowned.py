"""Attributes the app owns are read-only to SCIM.

They live in scimhub's own extension schema, `urn:scimhub:params:scim:schemas:extension:
app:2.0:User` (the roles the app assigned, its system attributes): the admin API writes
them, the access check and the admin API read them. A SCIM write that names that
schema gets 400 `mutability` (RFC 7644 §3.5.2: an operation must be compatible with
the attribute's mutability; §3.12 `mutability`). The core `roles` and `entitlements`
attributes stay the IdP's: Entra sends `roles: []` on every create and patches its app
roles into `roles` (shared/idp/behaviour.md), and refusing those would break real
provisioning."""

from __future__ import annotations

from typing import Any

from scimhub.scim.errors import Mutability

APP_URN = "urn:scimhub:params:scim:schemas:extension:app:2.0:User"
_APP = APP_URN.lower()


def _names_app(key: Any) -> bool:
    if not isinstance(key, str):
        return False
    folded = key.strip().lower()
    return folded == _APP or folded.startswith(_APP + ":") or folded.startswith(_APP + ".")


def _refuse() -> Mutability:
    return Mutability(
        f"attributes of {APP_URN} belong to the app (the role it assigned, its system "
        "attributes) and are read-only to SCIM"
    )


def _has_value(value: Any) -> bool:
    # RFC 7644 §3.5.1 / real traffic: null and empty values mean "not sent".
    return value not in (None, "", [], {})


def check_resource_body(body: Any) -> None:
    """POST or PUT: refuse a body that sets the app's attributes."""
    if not isinstance(body, dict):
        return
    for key, value in body.items():
        if _names_app(key) and _has_value(value):
            raise _refuse()


def check_patch_body(body: Any) -> None:
    """PATCH: refuse any operation whose path names the app's schema, or whose
    path-less value sets it."""
    if not isinstance(body, dict):
        return
    operations = next((v for k, v in body.items() if str(k).lower() == "operations"), None)
    if not isinstance(operations, list):
        return
    for operation in operations:
        if not isinstance(operation, dict):
            continue
        path = next((v for k, v in operation.items() if str(k).lower() == "path"), None)
        if _names_app(path):
            raise _refuse()
        value = next((v for k, v in operation.items() if str(k).lower() == "value"), None)
        if path is None and isinstance(value, dict):
            check_resource_body(value)
