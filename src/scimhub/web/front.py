"""SCIM requests straight to their endpoint, ahead of Starlette's router.

Nearly every request a server gets is SCIM. Starlette's exception middleware, router
and endpoint wrapper cost ~75 µs of a ~0.7 ms `POST /Users` in-process (10%) and add
nothing to it: SCIM errors are answered outside them, by web/errors.py. The SCIM routes
stay in the router (web/app.py) for what this leaves to it (a path with no tenant
segment, a method no route takes), so both ways answer alike."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

PREFIX = "/scim/v2/"


class ScimFront:
    """Middleware: `/scim/v2/{tenant}[/{rest}]` to `endpoint`, the rest to the app."""

    def __init__(
        self,
        app: ASGIApp,
        endpoint: Callable[[Request], Awaitable[Response]],
        methods: Collection[str],
    ) -> None:
        self.app = app
        self.endpoint = endpoint
        self.methods = frozenset(methods)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in self.methods:
            path: str = scope["path"]
            # Matched as the router does: on the path below the app's root path.
            root: str = scope.get("root_path", "")
            if root and path.startswith(root):
                path = path[len(root) :]
            if path.startswith(PREFIX):
                tenant, _, rest = path[len(PREFIX) :].partition("/")
                if tenant:  # `{tenant}` is one non-empty segment
                    scope["path_params"] = {"tenant": tenant, "rest": rest}
                    response = await self.endpoint(Request(scope, receive))
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)
