"""The admin API's hook into the audit trail: every admin action (any method but GET,
HEAD, OPTIONS) is recorded after its response, with the principal, the route, the
request body (secrets redacted; never the response, which may hold a new secret) and the
outcome. Recorded in a short transaction of its own; a failure to record is logged and
never changes the response."""

from __future__ import annotations

import json
from typing import Any

from anyio import to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scimhub.audit import Entry
from scimhub.audit.log import record_detached
from scimhub.db.engine import Database
from scimhub.resources.changes import Origin

_READS = frozenset({"GET", "HEAD", "OPTIONS"})
_BODY_KEPT = 65536


def _tenant_slug(path: str) -> str | None:
    parts = [p for p in path.split("/") if p]
    # /v1/tenants/{slug}/…
    if len(parts) >= 3 and parts[0] == "v1" and parts[1] == "tenants":
        return parts[2]
    return None


class AdminAuditMiddleware:
    def __init__(self, app: ASGIApp, db: Database) -> None:
        self.app = app
        self.db = db

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _READS:
            await self.app(scope, receive, send)
            return
        body = bytearray()
        status = 500

        async def receive_copy() -> Message:
            message = await receive()
            if message["type"] == "http.request" and len(body) < _BODY_KEPT:
                body.extend(message.get("body", b"")[: _BODY_KEPT - len(body)])
            return message

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive_copy, send_status)
        finally:
            await to_thread.run_sync(self._record, scope, bytes(body), status)

    def _record(self, scope: Scope, body: bytes, status: int) -> None:
        path = scope.get("path", "")
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
        state: dict[str, Any] = scope.get("state", {})
        parsed: Any = None
        if body:
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
        entry = Entry(
            operation=f"{scope['method']} {path}"[:200],
            outcome="success"
            if status < 400
            else ("refused" if status in (401, 403) else "failed"),
            source="admin",
            origin=Origin(
                actor=state.get("admin_actor"),
                request_id=str(state.get("request_id") or "") or None,
                user_agent=headers.get("user-agent"),
            ),
            after={"request": parsed} if parsed is not None else None,
            status=status,
        )
        record_detached(self.db, entry, tenant_slug=_tenant_slug(path))
