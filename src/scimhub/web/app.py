"""The ASGI application."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from scimhub.admin import access_check, admin_mount
from scimhub.admin.access_check import AccessCheckEndpoint
from scimhub.admin.app import mounted_context
from scimhub.audit import AuditObserver
from scimhub.db.engine import Database
from scimhub.events import EventObserver
from scimhub.events.roles import role_grant_event
from scimhub.events.worker import Worker
from scimhub.lifecycle.hooks import LifecycleHooks
from scimhub.lifecycle.retention import PurgeJob
from scimhub.resources.changes import ChangeObserver
from scimhub.scim.errors import MethodNotAllowed, NotFound, ScimError
from scimhub.settings import Settings
from scimhub.tenancy.tokens import UsageRecorder
from scimhub.web.errors import ErrorMiddleware
from scimhub.web.front import ScimFront
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
    usage = UsageRecorder()
    # One set of lifecycle rules for SCIM and the admin API (scimhub/lifecycle/hooks.py);
    # the role grants it makes or ends become events in the same transaction.
    lifecycle = LifecycleHooks(database.dialect, grant_listeners=[role_grant_event])
    purge = PurgeJob()
    # Every SCIM write is audited and its events written to the outbox, in its own
    # transaction (resources/changes.py).
    observers: list[ChangeObserver] = [AuditObserver(), EventObserver(settings)]
    scim = ScimEndpoints(settings, database, usage, lifecycle, observers)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # Token usage is counted in memory and written every few seconds, and once more
        # at shutdown (tenancy/tokens.py, UsageRecorder).
        usage.start(database, settings.token_usage_flush_seconds)
        # SQLite: WAL checkpoints off the request path (db/checkpoint.py).
        if database.checkpointer is not None:
            database.checkpointer.start()
        # Retained accounts past their tenant's retention (scimhub/lifecycle/retention.py).
        purge.start(database, settings.lifecycle_purge_seconds)
        # The embedded worker (events/worker.py): publishes and delivers events.
        worker = Worker(settings, database) if settings.worker_in_serve else None
        if worker is not None:
            worker.start()
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()
            purge.stop()
            usage.stop(database)
            if database.checkpointer is not None:
                database.checkpointer.stop()

    admin = admin_mount(settings, database, lifecycle, observers)
    routes = [
        # SCIM first: the router tries routes in order, and SCIM is nearly every request.
        Route("/scim/v2/{tenant}/{rest:path}", scim.handle, methods=_ALL_METHODS),
        Route("/scim/v2/{tenant}", scim.handle, methods=_ALL_METHODS),
        Route("/healthz", _health, methods=["GET"]),
        # The admin API (FastAPI): /admin/v1/…, /admin/openapi.json, /admin/docs.
        # The access check, which host apps call on each of their requests, is served by
        # a plain route ahead of the admin API (admin/access_check.py).
        Route(
            access_check.PATH, AccessCheckEndpoint(mounted_context(admin)).handle, methods=["GET"]
        ),
        admin,
    ]
    app = Starlette(
        routes=routes,
        # ScimFront inside ErrorMiddleware: SCIM errors are answered the same either way.
        middleware=[
            Middleware(ErrorMiddleware),
            Middleware(ScimFront, endpoint=scim.handle, methods=_ALL_METHODS),
        ],
        exception_handlers={HTTPException: _http_exception},
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = database
    # Tests (and servers run without a lifespan) call `app.state.usage.flush(db)`.
    app.state.usage = usage
    # The SCIM endpoints' lifecycle hooks: register role grant listeners here.
    app.state.lifecycle = lifecycle
    return app


def app_from_env() -> Starlette:
    """The factory `scimhub serve` hands to uvicorn (also for several workers)."""
    app = create_app(Settings.from_env())
    # The server process is ours (an app that embeds scimhub keeps its own GC
    # settings): the objects built at start-up live as long as the process, so the
    # collector stops walking them (gc.freeze), and young collections run less often
    # than every 700 allocations; a request allocates thousands of objects.
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)
    return app
