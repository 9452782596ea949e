"""The OpenAPI document (valid OpenAPI 3.1, every route, the error responses) and the
self-hosted Swagger UI at /admin/docs (its assets served locally)."""

from __future__ import annotations

import re
from typing import Any

from fastapi.routing import APIRoute
from schemathesis.specs.openapi import definitions

from scimhub.admin.routes import (
    audit,
    directory,
    events,
    export,
    keys,
    lifecycle,
    scim,
    sso,
    tenants,
    tokens,
    webhooks,
)

from .conftest import Admin

ERROR_REF = {"$ref": "#/components/schemas/ErrorResponse"}


def declared_routes() -> set[tuple[str, str]]:
    """(method, path) of every route the admin API's routers declare."""
    found = set()
    routers = (directory, export, keys, lifecycle, scim, sso, tenants, tokens)
    for module in (*routers, webhooks, events, audit):
        for route in module.router.routes:
            assert isinstance(route, APIRoute)
            if route.include_in_schema:
                found |= {(method, "/v1" + route.path) for method in route.methods}
    return found


def document(admin: Admin) -> dict[str, Any]:
    response = admin.client.get("/admin/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    return body


def operations(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): operation
        for path, item in doc["paths"].items()
        for method, operation in item.items()
    }


def test_the_document_is_valid_openapi_3(admin: Admin) -> None:
    doc = document(admin)
    assert doc["openapi"].startswith("3.")
    errors = [str(e) for e in definitions.OPENAPI_31_VALIDATOR.iter_errors(doc)]
    assert errors == []
    # The validator does catch a broken document.
    broken = {**doc, "paths": {"/x": {"get": {"responses": "none"}}}}
    assert not definitions.OPENAPI_31_VALIDATOR.is_valid(broken)
    assert doc["servers"] == [{"url": "/admin"}]
    assert doc["components"]["securitySchemes"]["adminKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": doc["components"]["securitySchemes"]["adminKey"]["description"],
    }


def test_every_route_is_documented_with_its_errors(admin: Admin) -> None:
    doc = document(admin)
    ops = operations(doc)
    assert set(ops) == declared_routes()
    assert len(ops) == 55
    for (method, path), op in ops.items():
        where = f"{method} {path}"
        assert path.startswith("/v1/"), where
        assert op.get("summary"), where
        assert op["security"] == [{"adminKey": []}], where
        responses = op["responses"]
        assert "422" not in responses, where
        assert responses["401"]["content"]["application/json"]["schema"] == ERROR_REF, where
        if path.startswith("/v1/tenants/{tenant}"):
            assert "404" in responses, where
        if "requestBody" in op or any(p["in"] == "query" for p in op.get("parameters", [])):
            assert responses["400"]["content"]["application/json"]["schema"] == ERROR_REF, where
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    error = doc["components"]["schemas"]["ErrorResponse"]
    assert error["required"] == ["error"]
    detail = doc["components"]["schemas"]["ErrorDetail"]
    assert set(detail["required"]) == {"code", "message"}
    # Tokens are created with a 201; exports are documented with their media types.
    assert "201" in ops[("POST", "/v1/tenants/{tenant}/tokens")]["responses"]
    csv_op = ops[("GET", "/v1/tenants/{tenant}/export/users.csv")]
    assert "text/csv" in csv_op["responses"]["200"]["content"]
    assert "primaryEmail" in csv_op["responses"]["200"]["description"]


def test_documented_paths_resolve_under_the_server_url(admin: Admin) -> None:
    doc = document(admin)
    server = doc["servers"][0]["url"]
    for (method, path), _op in operations(doc).items():
        if method == "GET" and "{" not in path:
            response = admin.client.get(server + path, headers=admin.as_("operator"))
            assert response.status_code == 200, path


def test_docs_are_served_with_local_assets(admin: Admin) -> None:
    response = admin.client.get("/admin/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "SwaggerUIBundle" in html
    urls = re.findall(r'(?:href|src)="([^"]+)"', html)
    urls += re.findall(r"url: '([^']+)'", html)
    assert "/admin/openapi.json" in urls
    assert any(u.endswith("swagger-ui-bundle.js") for u in urls)
    assert any(u.endswith("swagger-ui.css") for u in urls)
    for url in urls:
        assert url.startswith("/admin/"), f"{url} is not served by scimhub"
        asset = admin.client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 100, url
    assert "cdn" not in html.lower()
    missing = admin.client.get("/admin/static/swagger-ui/nope.js")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
