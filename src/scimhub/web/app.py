"""The ASGI application."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from scimhub.db.engine import Database
from scimhub.scim.errors import MethodNotAllowed, NotFound, ScimError
from scimhub.settings import Settings
from scimhub.web.errors import ErrorMiddleware
from scimhub.web.responses import error_response
from scimhub.web.scim import ScimEndpoints

_ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


async def _health(_request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def _http_exception(_request: Request, exc: Exception) -> Response:
    # Paths outside the SCIM dispatcher still answer in SCIM's error format.
    assert isinstance(exc, HTTPException)
    error: ScimError = (
        MethodNotAllowed("method not allowed")
        if exc.status_code == 405
        else NotFound("no such endpoint")
    )
    return error_response(error)


def create_app(settings: Settings, db: Database | None = None) -> Starlette:
    database = db or Database(settings.database_url)
    scim = ScimEndpoints(settings, database)
    routes = [
        Route("/healthz", _health, methods=["GET"]),
        Route("/scim/v2/{tenant}/{rest:path}", scim.handle, methods=_ALL_METHODS),
        Route("/scim/v2/{tenant}", scim.handle, methods=_ALL_METHODS),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(ErrorMiddleware)],
        exception_handlers={HTTPException: _http_exception},
    )
    app.state.settings = settings
    app.state.db = database
    return app


def app_from_env() -> Starlette:
    """The factory `scimhub serve` hands to uvicorn (also for several workers)."""
    return create_app(Settings.from_env())
