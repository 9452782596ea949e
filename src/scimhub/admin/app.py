"""The admin API application (FastAPI), mounted at `/admin` by `scimhub.web.app`.

- JSON routes under `/admin/v1/` (see `scimhub.admin.routes`), authenticated with
  `Authorization: Bearer <admin key>`;
- the OpenAPI document at `/admin/openapi.json`, describing the error responses too;
- Swagger UI at `/admin/docs`, its assets served from the `swagger-ui-bundle` package
  under `/admin/static/swagger-ui/` (no CDN: scimhub runs offline);
- every error as `{"error": {"code", "message"}}` (`scimhub.admin.errors`).

This is not the SCIM hot path: clarity over speed. Route functions are plain `def`s
(SQLAlchemy is synchronous), run by FastAPI in its thread pool."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.routing import Mount
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

from scimhub.admin.audit import AdminAuditMiddleware
from scimhub.admin.deps import AdminContext
from scimhub.admin.errors import (
    BodyLimitMiddleware,
    InternalErrorMiddleware,
    install_error_handlers,
)
from scimhub.admin.routes import (
    audit,
    directory,
    events,
    export,
    keys,
    scim,
    sso,
    tenants,
    tokens,
    webhooks,
)
from scimhub.admin.routes import lifecycle as lifecycle_routes
from scimhub.db.engine import Database
from scimhub.lifecycle.hooks import LifecycleHooks
from scimhub.resources.changes import ChangeObserver
from scimhub.settings import Settings

MOUNT_PATH = "/admin"
API_VERSION = "1"
STATIC_PATH = "/static/swagger-ui"

DESCRIPTION = """\
Administration of scimhub: tenants, their SSO connection, enabling SCIM, SCIM tokens,
the values to paste into each identity provider, and read access to (and exports of)
each tenant's users and groups.

**Authentication**: `Authorization: Bearer <admin key>`. Keys come from
`scimhub admin-key create` or `POST /admin/v1/tenants/{tenant}/admin-keys`.

**Roles**: operators act on every tenant. A tenant key acts on its own tenant only
(any other tenant is a 404, exactly like one that does not exist): owners, admins and
security admins may enable SCIM, change the SSO connection, manage tokens and export;
members may read. Status and plan changes and tenant creation are for operators.

**Errors**: every error is `{"error": {"code": "<stable code>", "message": "..."}}`,
with `field` naming the input at fault when there is one.
"""


def _document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """FastAPI documents a 422 with its own body on every route; this API answers 400
    with `ErrorResponse` instead (see `errors.py`): replace one with the other. Routes
    with a body may also answer 413."""
    error_ref = {"$ref": "#/components/schemas/ErrorResponse"}
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            if responses.pop("422", None) is not None and "400" not in responses:
                responses["400"] = {
                    "description": "Invalid request (`invalid_request`).",
                    "content": {"application/json": {"schema": error_ref}},
                }
            if "requestBody" in operation:
                responses.setdefault(
                    "413",
                    {
                        "description": "The request body is too large (`payload_too_large`).",
                        "content": {"application/json": {"schema": error_ref}},
                    },
                )
    components = schema.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    return schema


def create_admin_app(
    settings: Settings,
    db: Database,
    lifecycle: LifecycleHooks | None = None,
    observers: Sequence[ChangeObserver] = (),
) -> FastAPI:
    app = FastAPI(
        title="scimhub admin API",
        version=API_VERSION,
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
        servers=[{"url": MOUNT_PATH}],
        # operationId: the route function's name (`create_token`), unique here.
        generate_unique_id_function=lambda route: route.name,
    )
    app.state.admin = AdminContext(
        settings=settings, db=db, lifecycle=lifecycle, observers=tuple(observers)
    )
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_request_bytes)
    app.add_middleware(InternalErrorMiddleware)
    # Outermost: sees the final status of every admin action, errors included.
    app.add_middleware(AdminAuditMiddleware, db=db)

    routers = (tenants, sso, scim, tokens, keys, directory, lifecycle_routes, export)
    for module in (*routers, webhooks, events, audit):
        app.include_router(module.router, prefix="/v1")

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                description=app.description,
                routes=app.routes,
                servers=app.servers,
            )
            app.openapi_schema = _document_errors(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    app.mount(STATIC_PATH, StaticFiles(directory=swagger_ui_path), name="swagger-ui")

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        static = f"{root}{STATIC_PATH}"
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} — docs",
            swagger_js_url=f"{static}/swagger-ui-bundle.js",
            swagger_css_url=f"{static}/swagger-ui.css",
            swagger_favicon_url=f"{static}/favicon-32x32.png",
        )

    return app


def admin_mount(
    settings: Settings,
    db: Database,
    lifecycle: LifecycleHooks | None = None,
    observers: Sequence[ChangeObserver] = (),
) -> Mount:
    """The admin API mounted at `/admin`, for the main app's routes. Starlette's mount
    pattern (`.*`) stops at a newline, which would send `/admin/v1/tenants/a%0Ab` to the
    SCIM app's 404; here the pattern spans any character, so every path under `/admin/`
    gets the admin API's answer."""
    mount = Mount(MOUNT_PATH, app=create_admin_app(settings, db, lifecycle, observers))
    mount.path_regex = re.compile(mount.path_regex.pattern, re.DOTALL)
    return mount


def mounted_context(mount: Mount) -> AdminContext:
    """The AdminContext of the admin API behind `admin_mount`'s mount."""
    app = mount.app
    assert isinstance(app, FastAPI)
    ctx = app.state.admin
    assert isinstance(ctx, AdminContext)
    return ctx
