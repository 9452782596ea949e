"""Shared helpers of the conformance suite: the live server handle, a recording HTTP
client, and the checks every SCIM response must pass (RFC 7644 §3.1, §3.12, §8.1).

Imported by the tests in this directory by its plain module name (pytest puts this
directory on `sys.path`, as there is no `__init__.py` in `tests/`)."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

SCIM_MEDIA_TYPE = "application/scim+json"
ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK_REQUEST_URN = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
SEARCH_URN = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

DATA_DIR = Path(__file__).resolve().parent / "data"

# What a Python traceback or a framework debug page leaves in a body.
_TRACEBACK = re.compile(
    r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+|"
    r"sqlalchemy\.exc|psycopg\.|sqlite3\.|NotImplementedError"
)


@dataclass
class LiveServer:
    """A running scimhub: tenant A (`base_url`, `token`) and tenant B for cross-tenant
    checks (`other_base_url`, `other_token`)."""

    root: str
    base_url: str
    token: str
    tenant_id: str
    other_base_url: str
    other_token: str
    other_tenant_id: str
    database_url: str
    backend: str

    def client(self, token: str | None = None, **kwargs: Any) -> ScimClient:
        return ScimClient(self.base_url, self.token if token is None else token, **kwargs)

    def other_client(self) -> ScimClient:
        return ScimClient(self.other_base_url, self.other_token)


# -- percent-encoding of corpus paths (behaviour.md §9) -------------------------------------------

_ALLOWED_RAW = set(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/?[]%"
)


def encode_wire_path(path: str) -> str:
    """Percent-encode what a real client could not send raw (spaces, quotes and other
    characters outside RFC 3986), keeping `+` (a space in a form-encoded query) and every
    existing `%xx` escape exactly as written (behaviour.md §9)."""
    out: list[str] = []
    for ch in path:
        if ch in _ALLOWED_RAW:
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8"))
    return "".join(out)


# -- a recording client ---------------------------------------------------------------------------


@dataclass
class Exchange:
    """One request and its response, kept for assertion messages."""

    method: str
    url: str
    request_headers: dict[str, str]
    request_body: bytes | None
    status: int
    response_headers: httpx.Headers
    response_body: bytes
    elapsed_ms: float
    notes: list[str] = field(default_factory=list)

    @property
    def json(self) -> Any:
        if not self.response_body:
            return None
        try:
            return json.loads(self.response_body)
        except ValueError:
            return None

    @property
    def content_type(self) -> str:
        return self.response_headers.get("content-type", "")

    def describe(self, limit: int = 1500) -> str:
        req = self.request_body.decode("utf-8", "replace") if self.request_body else ""
        res = self.response_body.decode("utf-8", "replace")
        headers = {k: v for k, v in self.request_headers.items() if k.lower() != "authorization"}
        return (
            f"  > {self.method} {self.url}\n"
            f"  > headers {headers}\n"
            + (f"  > {req[:limit]}\n" if req else "")
            + f"  < {self.status} {self.content_type} ({self.elapsed_ms:.0f} ms)"
            + (f" ETag {self.response_headers['etag']}" if "etag" in self.response_headers else "")
            + "\n"
            + (f"  < {res[:limit]}\n" if res else "")
        )


class ScimClient:
    """Sends SCIM requests to one tenant's base URL and records every exchange."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        default_headers: dict[str, str] | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.default_headers = default_headers or {}
        self.http = httpx.Client(timeout=timeout)
        self.log: list[Exchange] = []

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ScimClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def url(self, path: str) -> str:
        if path.startswith("http://") or path.startswith("https://"):
            return path
        return self.base_url + encode_wire_path(path)

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        content: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        auth: bool = True,
        content_type: str | None = SCIM_MEDIA_TYPE,
    ) -> Exchange:
        hdrs: dict[str, str] = dict(self.default_headers)
        if auth and self.token is not None:
            hdrs["Authorization"] = f"Bearer {self.token}"
        body: bytes | None = None
        if json_body is not None:
            body = json.dumps(json_body).encode()
        elif content is not None:
            body = content.encode() if isinstance(content, str) else content
        if body is not None and content_type is not None:
            hdrs["Content-Type"] = content_type
        if headers:
            for key, value in headers.items():
                for existing in [k for k in hdrs if k.lower() == key.lower()]:
                    del hdrs[existing]
                hdrs[key] = value
        url = self.url(path)
        request = self.http.build_request(method, url, headers=hdrs, content=body)
        started = time.perf_counter()
        response = self.http.send(request)
        elapsed = (time.perf_counter() - started) * 1000
        exchange = Exchange(
            method=method,
            url=str(request.url),
            request_headers=hdrs,
            request_body=body,
            status=response.status_code,
            response_headers=response.headers,
            response_body=response.content,
            elapsed_ms=elapsed,
        )
        self.log.append(exchange)
        return exchange

    def get(self, path: str, **kw: Any) -> Exchange:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Exchange:
        return self.request("POST", path, json_body=body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> Exchange:
        return self.request("PUT", path, json_body=body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any) -> Exchange:
        return self.request("PATCH", path, json_body=body, **kw)

    def delete(self, path: str, **kw: Any) -> Exchange:
        return self.request("DELETE", path, **kw)

    # -- conveniences used by setup code -----------------------------------------------------

    def create_user(self, user_name: str, **attrs: Any) -> dict[str, Any]:
        body = {"schemas": [USER_URN], "userName": user_name, **attrs}
        ex = self.post("/Users", body)
        assert ex.status == 201, f"setup: creating user {user_name} failed\n{ex.describe()}"
        return ex.json  # type: ignore[no-any-return]

    def create_group(self, display_name: str, members: list[str] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"schemas": [GROUP_URN], "displayName": display_name}
        if members is not None:
            body["members"] = [{"value": m} for m in members]
        ex = self.post("/Groups", body)
        assert ex.status == 201, f"setup: creating group {display_name} failed\n{ex.describe()}"
        return ex.json  # type: ignore[no-any-return]


def patch_body(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_URN], "Operations": list(operations)}


# -- checks every response must pass --------------------------------------------------------------


def response_problems(ex: Exchange) -> list[str]:
    """What is wrong with a response whatever the request (RFC 7644 §3.1, §3.12, §8.1)."""
    problems: list[str] = []
    text = ex.response_body.decode("utf-8", "replace")
    if _TRACEBACK.search(text):
        problems.append("the response body leaks a traceback or driver error")
    if ex.status in (204, 304):
        if ex.response_body:
            problems.append(f"a {ex.status} response carries a body")
        return problems
    media = ex.content_type.split(";", 1)[0].strip().lower()
    if media != SCIM_MEDIA_TYPE:
        problems.append(f"Content-Type is {ex.content_type!r}, not {SCIM_MEDIA_TYPE}")
    body = ex.json
    if not isinstance(body, dict):
        problems.append("the body is not a JSON object")
        return problems
    if ex.status >= 400:
        problems.extend(error_body_problems(body, ex.status))
    return problems


def error_body_problems(body: Any, status: int) -> list[str]:
    """RFC 7644 §3.12: the Error schema, `status` a string equal to the HTTP status."""
    problems: list[str] = []
    if not isinstance(body, dict):
        return ["the error body is not a JSON object"]
    if ERROR_URN not in (body.get("schemas") or []):
        problems.append(f"error body schemas {body.get('schemas')!r} lack {ERROR_URN}")
    if body.get("status") != str(status):
        problems.append(f"error body status is {body.get('status')!r}, expected {str(status)!r}")
    if "detail" in body and not isinstance(body["detail"], str):
        problems.append("error detail is not a string")
    return problems


def assert_scim_response(ex: Exchange) -> None:
    problems = response_problems(ex)
    assert not problems, "; ".join(problems) + "\n" + ex.describe()


def assert_status(ex: Exchange, *expected: int) -> None:
    assert ex.status in expected, f"expected status {expected}, got {ex.status}\n{ex.describe()}"
    assert_scim_response(ex)


def assert_error(ex: Exchange, status: int, scim_type: str | None = None) -> dict[str, Any]:
    assert_status(ex, status)
    body = ex.json
    if scim_type is not None:
        assert body.get("scimType") == scim_type, (
            f"expected scimType {scim_type!r}, got {body.get('scimType')!r}\n{ex.describe()}"
        )
    return body  # type: ignore[no-any-return]
