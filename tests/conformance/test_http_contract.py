"""scimhub's HTTP contract over a live server, on SQLite and PostgreSQL: what the Okta
spec test, the IdP corpus and scim2-tester do not pin down. Each test names the RFC or
behaviour.md section it checks."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from conformance_support import (
    BULK_REQUEST_URN,
    ENTERPRISE_URN,
    ERROR_URN,
    GROUP_URN,
    LIST_URN,
    SEARCH_URN,
    USER_URN,
    Exchange,
    LiveServer,
    ScimClient,
    assert_error,
    assert_scim_response,
    assert_status,
    error_body_problems,
    patch_body,
    response_problems,
)

BULK_RESPONSE_URN = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"


@pytest.fixture
def scim(live_server: LiveServer) -> Iterator[ScimClient]:
    with live_server.client() as client:
        yield client


def _user(scim: ScimClient, user_name: str = "ada@example.com", **attrs: Any) -> dict[str, Any]:
    return scim.create_user(user_name, **attrs)


def _snapshot(scim: ScimClient, path: str) -> tuple[dict[str, Any], str]:
    ex = scim.get(path)
    assert_status(ex, 200)
    return ex.json, ex.response_headers["etag"]


def _unchanged(scim: ScimClient, path: str, before: tuple[dict[str, Any], str]) -> None:
    """Nothing half-written: the resource and its version are exactly as before."""
    after = _snapshot(scim, path)
    assert after == before, f"{path} changed after a failed request:\n{before}\n{after}"


def _count_users(scim: ScimClient, filter_expr: str) -> int:
    ex = scim.get(f"/Users?filter={filter_expr}&count=0")
    assert_status(ex, 200)
    return int(ex.json["totalResults"])


# -- authentication and tenants (RFC 7644 §2, §3.12; RFC 6750 §3) ---------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer nope", "Basic YWRhOmxvdmVsYWNl", "bearer nope", "Token abc"],
    ids=["none", "empty-bearer", "wrong-token", "basic", "lowercase-wrong", "other-scheme"],
)
@pytest.mark.parametrize("path", ["/Users", "/Groups/x", "/ServiceProviderConfig", "/Nope"])
def test_401_with_scim_body_and_www_authenticate(
    live_server: LiveServer, authorization: str | None, path: str
) -> None:
    # RFC 7644 §2 and §3.12; RFC 6750 §3 (WWW-Authenticate); behaviour.md §0.8
    with ScimClient(live_server.base_url, None) as c:
        headers = {"Authorization": authorization} if authorization is not None else {}
        ex = c.get(path, headers=headers)
    body = assert_error(ex, 401)
    assert body.get("detail"), ex.describe()
    assert ex.response_headers.get("www-authenticate", "").lower().startswith("bearer"), (
        ex.describe()
    )


def test_token_of_one_tenant_is_refused_on_another(live_server: LiveServer) -> None:
    # README "tenants"; RFC 7644 §6 (multi-tenancy); RFC 7644 §3.12
    with live_server.client() as a:
        user = a.create_user("only.in.acme@example.com")
    with ScimClient(live_server.other_base_url, live_server.token) as wrong:
        for method, path in [
            ("GET", "/Users"),
            ("GET", f"/Users/{user['id']}"),
            ("POST", "/Users"),
        ]:
            ex = wrong.request(
                method, path, json_body={"userName": "x"} if method == "POST" else None
            )
            assert_error(ex, 401)
    with live_server.other_client() as b:
        assert_error(b.get(f"/Users/{user['id']}"), 404)
        ex = b.get('/Users?filter=userName eq "only.in.acme@example.com"')
        assert_status(ex, 200)
        assert ex.json["totalResults"] == 0, "tenant B sees tenant A's user"
        assert _count_users(b, 'userName eq "x"') == 0, "the refused POST created a user"


# -- 404, 405, 501 (RFC 7644 §3.12, §4, §3.11) ----------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/Users/4f0b2c66-0000-0000-0000-000000000000"),
        ("GET", "/Users/010101001010101011001010101011"),
        ("PUT", "/Users/missing"),
        ("PATCH", "/Users/missing"),
        ("DELETE", "/Users/missing"),
        ("GET", "/Groups/missing"),
        ("DELETE", "/Groups/missing"),
        ("GET", "/Nope"),
        ("GET", "/Users/a/b"),
        ("GET", "/Schemas/urn:nope"),
        ("GET", "/ResourceTypes/Nope"),
        ("GET", ""),
    ],
)
def test_404_is_a_scim_error_with_string_status(scim: ScimClient, method: str, path: str) -> None:
    # RFC 7644 §3.12 ("status" a string); behaviour.md §0.8
    body = {"schemas": [USER_URN], "userName": "x"} if method == "PUT" else None
    if method == "PATCH":
        body = patch_body({"op": "replace", "path": "active", "value": False})
    ex = scim.request(method, path, json_body=body)
    err = assert_error(ex, 404)
    assert err["status"] == "404" and err.get("detail")


def test_404_outside_the_scim_root(live_server: LiveServer) -> None:
    # RFC 7644 §3.12: even framework routes answer in SCIM's error format
    with httpx.Client() as http:
        r = http.get(f"{live_server.root}/scim/v2")
        ex = Exchange("GET", str(r.url), {}, None, r.status_code, r.headers, r.content, 0)
    assert_error(ex, 404)


DISCOVERY = [
    "/ServiceProviderConfig",
    "/Schemas",
    "/ResourceTypes",
    f"/Schemas/{USER_URN}",
    "/ResourceTypes/User",
]


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("path", DISCOVERY)
def test_405_for_writes_to_discovery(scim: ScimClient, method: str, path: str) -> None:
    # RFC 7644 §4 (discovery endpoints are read-only); behaviour.md §1 spec test
    ex = scim.request(method, path, content=b"test\r\n\r\n" if method != "DELETE" else None)
    assert_error(ex, 405)


@pytest.mark.parametrize("path", ["/ServiceProviderConfig", "/Users/.search", "/Bulk"])
def test_405_names_the_allowed_methods(scim: ScimClient, path: str) -> None:
    # RFC 9110 §15.5.6: a 405 response MUST carry an Allow header
    ex = scim.request("PUT", path, json_body={})
    assert_error(ex, 405)
    assert ex.response_headers.get("allow"), f"405 without Allow\n{ex.describe()}"


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
def test_me_is_not_implemented(scim: ScimClient, method: str) -> None:
    # RFC 7644 §3.11 (/Me optional: 501 when unsupported)
    ex = scim.request(method, "/Me", json_body={} if method in ("POST", "PUT", "PATCH") else None)
    assert_error(ex, 501)


# -- request bodies: size, media type, syntax (RFC 7644 §3.1, §3.12, §8.1) ------------------------


def test_413_over_the_payload_limit(live_server_factory: Callable[..., LiveServer]) -> None:
    # RFC 9110 §15.5.14; settings.max_request_bytes; RFC 7644 §3.12
    server = live_server_factory(max_request_bytes=2048)
    padding = "x" * 4000
    with server.client() as c:
        ex = c.post(
            "/Users", {"schemas": [USER_URN], "userName": "big@example.com", "nickName": padding}
        )
        assert_error(ex, 413)

        def chunks() -> Iterator[bytes]:  # no Content-Length: the stream must be cut off
            yield b'{"schemas":["' + USER_URN.encode() + b'"],"userName":"chunked@example.com",'
            for _ in range(10):
                yield b'"x":"' + b"y" * 500 + b'",'
            yield b'"z":1}'

        r = c.http.post(
            c.url("/Users"),
            content=chunks(),
            headers={
                "Authorization": f"Bearer {server.token}",
                "Content-Type": "application/scim+json",
            },
        )
        ex2 = Exchange("POST", str(r.url), {}, None, r.status_code, r.headers, r.content, 0)
        assert_error(ex2, 413)
        assert _count_users(c, 'userName sw "big"') == 0
        assert _count_users(c, 'userName sw "chunked"') == 0
        small = c.post("/Users", {"schemas": [USER_URN], "userName": "small@example.com"})
        assert_status(small, 201)


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/xml",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ],
)
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
def test_415_for_a_non_json_content_type(scim: ScimClient, content_type: str, method: str) -> None:
    # RFC 7644 §3.1, §8.1 (application/scim+json); RFC 9110 §15.5.16
    user = _user(scim)
    path = "/Users" if method == "POST" else f"/Users/{user['id']}"
    body = (
        patch_body({"op": "replace", "path": "nickName", "value": "x"})
        if method == "PATCH"
        else {"schemas": [USER_URN], "userName": "new@example.com"}
    )
    before = _snapshot(scim, f"/Users/{user['id']}")
    ex = scim.request(method, path, content=json.dumps(body), content_type=content_type)
    assert_error(ex, 415)
    _unchanged(scim, f"/Users/{user['id']}", before)


@pytest.mark.parametrize(
    "content_type",
    [
        "application/scim+json",
        "application/scim+json; charset=utf-8",
        "application/json",
        "application/json; charset=UTF-8",
        "Application/SCIM+JSON;charset=utf-8",
    ],
)
def test_json_and_scim_json_accepted_with_or_without_charset(
    scim: ScimClient, content_type: str
) -> None:
    # RFC 7644 §3.1, §8.1; behaviour.md §0.9 (Okta posts application/json)
    ex = scim.request(
        "POST",
        "/Users",
        content=json.dumps({"schemas": [USER_URN], "userName": "ct@example.com"}),
        content_type=content_type,
    )
    assert_status(ex, 201)
    uid = ex.json["id"]
    ex = scim.request(
        "PATCH",
        f"/Users/{uid}",
        content=json.dumps(patch_body({"op": "replace", "path": "nickName", "value": "n"})),
        content_type=content_type,
    )
    assert_status(ex, 200, 204)
    ex = scim.request(
        "GET",
        f"/Users/{uid}",
        headers={"Content-Type": content_type, "Accept": content_type.split(";")[0]},
    )
    assert_status(ex, 200)
    assert ex.json["nickName"] == "n"


def test_bodiless_requests_ignore_content_type(scim: ScimClient) -> None:
    # behaviour.md §0.9 (Okta sends Content-Type on GET and DELETE)
    user = _user(scim)
    hdrs = {"Content-Type": "application/scim+json; charset=utf-8"}
    assert_status(scim.get(f"/Users/{user['id']}", headers=hdrs), 200)
    assert_status(scim.delete(f"/Users/{user['id']}", headers=hdrs), 204)


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b'{"userName": }',
        b"not json",
        b"",
        b"   ",
        b'{"userName": "a",}',
        b"\xff\xfe{}",
        b'{"userName": "a"} trailing',
        # RFC 8259 §6: NaN and Infinity are not JSON numbers; nor is one past a double.
        b'{"userName": "a", "nickName": NaN}',
        b'{"userName": "a", "nickName": Infinity}',
        b'{"userName": "a", "nickName": 1e400}',
        # A lone surrogate: no UTF-8 text holds it, so nothing could store or return it.
        b'{"userName": "a\\ud800"}',
        # RFC 8259 §8.1: JSON exchanged between systems is UTF-8.
        '{"userName": "a"}'.encode("utf-16"),
    ],
    ids=[
        "open-brace",
        "missing-value",
        "text",
        "empty",
        "blank",
        "trailing-comma",
        "bad-utf8",
        "trailing-garbage",
        "nan",
        "infinity",
        "beyond-double",
        "lone-surrogate",
        "utf-16",
    ],
)
@pytest.mark.parametrize(
    "target",
    ["POST /Users", "PUT user", "PATCH user", "POST /Groups", "POST /Bulk", "POST /.search"],
)
def test_malformed_json_is_400_invalid_syntax(scim: ScimClient, raw: bytes, target: str) -> None:
    # RFC 7644 §3.12 (invalidSyntax); nothing half-written
    user = _user(scim)
    method, path = {
        "POST /Users": ("POST", "/Users"),
        "PUT user": ("PUT", f"/Users/{user['id']}"),
        "PATCH user": ("PATCH", f"/Users/{user['id']}"),
        "POST /Groups": ("POST", "/Groups"),
        "POST /Bulk": ("POST", "/Bulk"),
        "POST /.search": ("POST", "/.search"),
    }[target]
    before = _snapshot(scim, f"/Users/{user['id']}")
    ex = scim.request(method, path, content=raw)
    assert_error(ex, 400, "invalidSyntax")
    _unchanged(scim, f"/Users/{user['id']}", before)
    assert _count_users(scim, "userName pr") == 1


# -- query parameters (RFC 7644 §3.4.2; behaviour.md §0.5, §0.10) ---------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/Users"),
        ("GET", "/Users/{id}"),
        ("GET", "/Groups"),
        ("POST", "/Users"),
        ("PATCH", "/Users/{id}"),
        ("PUT", "/Users/{id}"),
        ("GET", "/ServiceProviderConfig"),
        ("GET", "/Schemas"),
        ("POST", "/Users/.search"),
        ("DELETE", "/Users/{id}"),
    ],
)
def test_unknown_query_parameters_are_ignored(scim: ScimClient, method: str, path: str) -> None:
    # behaviour.md §0.10 (Entra's ?aadOptscim062020); RFC 7644 §3.4.2
    user = _user(scim)
    body: Any = {
        "POST": {"schemas": [USER_URN], "userName": "flag@example.com"},
        "PATCH": patch_body({"op": "replace", "path": "active", "value": False}),
        "PUT": {"schemas": [USER_URN], "userName": user["userName"], "active": False},
    }.get(method)
    if path == "/Users/.search":
        body = {"schemas": [SEARCH_URN]}
    for suffix in ("?aadOptscim062020", "?aadOptscim062020&foo=bar&AzureAdScimPatch2017=1"):
        if (
            method in ("POST", "DELETE")
            and suffix != "?aadOptscim062020"
            and path != "/Users/.search"
        ):
            continue
        ex = scim.request(method, path.format(id=user["id"]) + suffix, json_body=body)
        assert_status(
            ex, {"POST": 201 if path == "/Users" else 200, "DELETE": 204}.get(method, 200)
        )
        if method == "PATCH":
            assert scim.get(f"/Users/{user['id']}").json["active"] is False


@pytest.mark.parametrize(
    "filter_expr",
    [
        "userName eq",
        'userName xx "a"',
        '(userName eq "a"',
        'userName eq "a" and',
        'userName eq "a',
        'emails[type eq "work"',
        "RUNSCOPE300HFLUAKLAB151@example.com",
        'userName eq "a" or or',
        "meta.lastModified gt",
        '"a" eq userName',
        "userName eq a b",
        'name.givenName eq "a")',
        'userName eq "a" extra',
        'userName eq "a\\ud800"',
    ],
)
@pytest.mark.parametrize(
    "where", ["GET /Users", "GET /Groups", "POST /Users/.search", "POST /.search"]
)
def test_malformed_filter_is_400_invalid_filter(
    scim: ScimClient, filter_expr: str, where: str
) -> None:
    # RFC 7644 §3.4.2.2, §3.12 (invalidFilter); behaviour.md §0.5 ("never 500")
    method, path = where.split(" ")
    if method == "GET":
        ex = scim.request("GET", path + "?" + str(httpx.QueryParams({"filter": filter_expr})))
    else:
        ex = scim.post(path, {"schemas": [SEARCH_URN], "filter": filter_expr})
    assert_error(ex, 400, "invalidFilter")


ODD_QUERIES: list[tuple[dict[str, str], str | None]] = [
    ({"count": "abc"}, "invalidValue"),
    ({"startIndex": "x"}, "invalidValue"),
    ({"sortOrder": "sideways"}, "invalidValue"),
    ({"sortBy": "[[["}, "invalidValue"),
    ({"cursor": "not-a-cursor"}, "invalidCursor"),
    ({"count": "99999999999999999999999"}, None),
    ({"startIndex": "-5", "count": "-1"}, None),
    ({"filter": "(" * 500 + 'userName eq "a"' + ")" * 500}, None),
    ({"filter": 'userName eq "\x00"'}, None),
    ({"attributes": ",".join(["a"] * 300)}, None),
]


@pytest.mark.parametrize(
    ("query", "scim_type"), ODD_QUERIES, ids=[str(q)[:40] for q, _ in ODD_QUERIES]
)
def test_odd_query_parameters_never_500(
    scim: ScimClient, query: dict[str, str], scim_type: str | None
) -> None:
    # RFC 7644 §3.4.2.4 (out-of-range startIndex/count are clamped), §3.12; behaviour.md §0.5
    ex = scim.request("GET", "/Users?" + str(httpx.QueryParams(query)))
    assert ex.status < 500, f"a 5xx on odd input\n{ex.describe()}"
    assert_scim_response(ex)
    if scim_type:
        assert_error(ex, 400, scim_type)


def test_clamped_paging_values(scim: ScimClient) -> None:
    # RFC 7644 §3.4.2.4: startIndex < 1 is 1; count < 0 is 0
    for i in range(3):
        _user(scim, f"u{i}@example.com")
    ex = scim.get("/Users?startIndex=-3&count=2")
    assert_status(ex, 200)
    assert ex.json["startIndex"] == 1 and len(ex.json["Resources"]) == 2
    ex = scim.get("/Users?count=-1")
    assert_status(ex, 200)
    assert ex.json["totalResults"] == 3 and not ex.json.get("Resources")


# -- every route answers with a trailing slash (README) -------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/Users", 200),
        ("GET", "/Users/{uid}", 200),
        ("GET", "/Groups", 200),
        ("GET", "/Groups/{gid}", 200),
        ("GET", "/ServiceProviderConfig", 200),
        ("GET", "/Schemas", 200),
        ("GET", f"/Schemas/{USER_URN}", 200),
        ("GET", "/ResourceTypes", 200),
        ("GET", "/ResourceTypes/User", 200),
        ("POST", "/Users", 201),
        ("POST", "/Groups", 201),
        ("PUT", "/Users/{uid}", 200),
        ("PATCH", "/Users/{uid}", 200),
        ("POST", "/Users/.search", 200),
        ("POST", "/.search", 200),
        ("POST", "/Bulk", 200),
        ("GET", "/Me", 501),
        ("DELETE", "/Groups/{gid}", 204),
        ("DELETE", "/Users/{uid}", 204),
    ],
)
def test_every_route_answers_with_a_trailing_slash(
    scim: ScimClient, method: str, path: str, status: int
) -> None:
    # README ("every route also answers with a trailing slash")
    user = _user(scim)
    group = scim.create_group("Slash", [user["id"]])
    body: Any = None
    if path == "/Users" and method == "POST":
        body = {"schemas": [USER_URN], "userName": "slash@example.com"}
    elif path == "/Groups" and method == "POST":
        body = {"schemas": [GROUP_URN], "displayName": "Slash 2"}
    elif method == "PUT":
        body = {"schemas": [USER_URN], "userName": user["userName"], "nickName": "s"}
    elif method == "PATCH":
        body = patch_body({"op": "replace", "path": "nickName", "value": "p"})
    elif path.endswith(".search"):
        body = {"schemas": [SEARCH_URN], "filter": "userName pr"}
    elif path == "/Bulk":
        body = {
            "schemas": [BULK_REQUEST_URN],
            "Operations": [
                {
                    "method": "POST",
                    "path": "/Users",
                    "bulkId": "b",
                    "data": {"schemas": [USER_URN], "userName": "bulk.slash@example.com"},
                }
            ],
        }
    real = path.format(uid=user["id"], gid=group["id"])
    ex = scim.request(method, real + "/", json_body=body)
    assert_status(ex, status)
    if method == "GET" and status == 200:
        plain = scim.get(real)
        assert plain.json == ex.json, "the slash changes the answer"


# -- uniqueness and case (RFC 7643 §4.1.1, RFC 7644 §3.3, §3.12; behaviour.md §0.12) --------------


@pytest.mark.parametrize("second", ["ADA@EXAMPLE.COM", "Ada@Example.com", "ada@example.com"])
def test_duplicate_username_in_any_case_is_409_uniqueness(scim: ScimClient, second: str) -> None:
    # RFC 7643 §4.1.1 (userName caseExact false, uniqueness server); RFC 7644 §3.3
    first = _user(scim, "Ada@example.com")
    ex = scim.post("/Users", {"schemas": [USER_URN], "userName": second})
    assert_error(ex, 409, "uniqueness")
    assert _count_users(scim, 'userName eq "ada@example.com"') == 1
    got = scim.get(f"/Users/{first['id']}").json
    assert got["userName"] == "Ada@example.com", "the stored case is preserved"
    # A filter in another case finds it, with its own case.
    ex = scim.get('/Users?filter=userName eq "ADA@EXAMPLE.COM"')
    assert [u["userName"] for u in ex.json["Resources"]] == ["Ada@example.com"]


@pytest.mark.parametrize("how", ["PUT", "PATCH path", "PATCH value map"])
def test_rename_onto_an_existing_username_is_409_and_changes_nothing(
    scim: ScimClient, how: str
) -> None:
    # RFC 7644 §3.5.1, §3.5.2, §3.12 (uniqueness); nothing half-written
    _user(scim, "taken@example.com")
    other = _user(scim, "other@example.com", nickName="keep")
    path = f"/Users/{other['id']}"
    before = _snapshot(scim, path)
    if how == "PUT":
        ex = scim.put(
            path, {"schemas": [USER_URN], "userName": "TAKEN@example.com", "nickName": "x"}
        )
    elif how == "PATCH path":
        ex = scim.patch(
            path,
            patch_body(
                {"op": "replace", "path": "nickName", "value": "x"},
                {"op": "replace", "path": "userName", "value": "Taken@Example.com"},
            ),
        )
    else:
        ex = scim.patch(
            path, patch_body({"op": "replace", "value": {"userName": "taken@EXAMPLE.com"}})
        )
    assert_error(ex, 409, "uniqueness")
    _unchanged(scim, path, before)


def test_renaming_a_user_to_its_own_name_in_another_case_is_allowed(scim: ScimClient) -> None:
    # RFC 7643 §4.1.1: a user does not collide with itself; behaviour.md §0.12
    user = _user(scim, "case@example.com")
    ex = scim.patch(
        f"/Users/{user['id']}",
        patch_body({"op": "replace", "path": "userName", "value": "CASE@example.com"}),
    )
    assert_status(ex, 200, 204)
    assert scim.get(f"/Users/{user['id']}").json["userName"] == "CASE@example.com"


# -- ETags (RFC 7644 §3.14; RFC 9110 §13) ---------------------------------------------------------


def test_etag_header_equals_meta_version_on_every_resource_response(scim: ScimClient) -> None:
    # RFC 7644 §3.14, RFC 7643 §3.1 (meta.version)
    user = _user(scim)
    uid = user["id"]
    exchanges = [
        scim.get(f"/Users/{uid}"),
        scim.put(
            f"/Users/{uid}", {"schemas": [USER_URN], "userName": user["userName"], "nickName": "a"}
        ),
        scim.patch(
            f"/Users/{uid}", patch_body({"op": "replace", "path": "nickName", "value": "b"})
        ),
        scim.post("/Groups", {"schemas": [GROUP_URN], "displayName": "E"}),
    ]
    for ex in exchanges:
        assert_status(ex, 200, 201)
        assert ex.response_headers.get("etag") == ex.json["meta"]["version"], ex.describe()
    user_versions = {ex.json["meta"]["version"] for ex in exchanges[:3]}
    assert len(user_versions) == 3, "every write must change the version"
    # A list carries meta.version for each resource too.
    listed = scim.get("/Users").json["Resources"][0]
    assert listed["meta"]["version"] == scim.get(f"/Users/{uid}").response_headers["etag"]


def test_if_none_match_gives_304(scim: ScimClient) -> None:
    # RFC 7644 §3.14; RFC 9110 §13.1.2, §15.4.5
    user = _user(scim)
    etag = scim.get(f"/Users/{user['id']}").response_headers["etag"]
    ex = scim.get(f"/Users/{user['id']}", headers={"If-None-Match": etag})
    assert ex.status == 304 and not ex.response_body, ex.describe()
    assert ex.response_headers.get("etag") == etag
    ex = scim.get(f"/Users/{user['id']}", headers={"If-None-Match": f'{etag}, W/"other"'})
    assert ex.status == 304, ex.describe()
    ex = scim.get(f"/Users/{user['id']}", headers={"If-None-Match": '"stale"'})
    assert_status(ex, 200)
    ex = scim.get(f"/Users/{user['id']}", headers={"If-None-Match": "*"})
    assert ex.status == 304, ex.describe()


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_stale_if_match_is_412_and_changes_nothing(scim: ScimClient, method: str) -> None:
    # RFC 7644 §3.14; RFC 9110 §13.1.1, §15.5.13
    user = _user(scim)
    path = f"/Users/{user['id']}"
    stale = scim.get(path).response_headers["etag"]
    assert_status(
        scim.patch(path, patch_body({"op": "replace", "path": "nickName", "value": "v2"})), 200
    )
    before = _snapshot(scim, path)
    body = {
        "PUT": {"schemas": [USER_URN], "userName": user["userName"], "nickName": "v3"},
        "PATCH": patch_body({"op": "replace", "path": "nickName", "value": "v3"}),
    }.get(method)
    ex = scim.request(method, path, json_body=body, headers={"If-Match": stale})
    assert_error(ex, 412)
    _unchanged(scim, path, before)
    current = before[1]
    ex = scim.request(method, path, json_body=body, headers={"If-Match": current})
    assert_status(ex, 204 if method == "DELETE" else 200)


def test_if_match_on_groups(scim: ScimClient) -> None:
    # RFC 7644 §3.14 for a member PATCH
    user = _user(scim)
    group = scim.create_group("G")
    path = f"/Groups/{group['id']}"
    etag = scim.get(path).response_headers["etag"]
    op = patch_body({"op": "add", "path": "members", "value": [{"value": user["id"]}]})
    assert_status(scim.patch(path, op, headers={"If-Match": etag}), 200, 204)
    before = _snapshot(scim, path)
    ex = scim.patch(
        path, patch_body({"op": "remove", "path": "members"}), headers={"If-Match": etag}
    )
    assert_error(ex, 412)
    _unchanged(scim, path, before)


def _race(
    server: LiveServer, requests: list[tuple[str, str, Any, dict[str, str]]]
) -> list[Exchange]:
    """Sends the requests at once, each from its own connection."""
    barrier = threading.Barrier(len(requests))
    results: list[Exchange | BaseException] = [None] * len(requests)  # type: ignore[list-item]

    def go(i: int) -> None:
        method, path, body, headers = requests[i]
        with server.client() as c:
            try:
                barrier.wait(timeout=10)
                results[i] = c.request(method, path, json_body=body, headers=headers)
            except BaseException as exc:
                results[i] = exc

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return results  # type: ignore[return-value]


def test_concurrent_patches_with_the_same_if_match_exactly_one_wins(
    live_server: LiveServer,
) -> None:
    # RFC 7644 §3.14 (optimistic concurrency); architecture.md (conditional UPDATE)
    with live_server.client() as c:
        user = _user(c)
        path = f"/Users/{user['id']}"
        for round_ in range(5):
            etag = c.get(path).response_headers["etag"]
            results = _race(
                live_server,
                [
                    (
                        "PATCH",
                        path,
                        patch_body(
                            {"op": "replace", "path": "nickName", "value": f"r{round_}-{i}"}
                        ),
                        {"If-Match": etag},
                    )
                    for i in range(2)
                ],
            )
            statuses = sorted(ex.status for ex in results)
            assert statuses == [200, 412], "\n".join(ex.describe() for ex in results)
            for ex in results:
                assert_scim_response(ex)
            winner = next(ex for ex in results if ex.status == 200)
            assert c.get(path).json["nickName"] == winner.json["nickName"]


@pytest.mark.parametrize("writers", [3, 12])
def test_concurrent_member_adds_without_if_match_lose_nothing(
    live_server: LiveServer, writers: int
) -> None:
    # RFC 7644 §3.5.2 (each acknowledged PATCH applied); architecture.md (writers of one
    # resource queue on its row, so without If-Match every add succeeds, however many
    # writers race, and none is lost).
    with live_server.client() as c:
        users = [_user(c, f"m{i}@example.com")["id"] for i in range(writers)]
        group = c.create_group("Race")
        path = f"/Groups/{group['id']}"
        results = _race(
            live_server,
            [
                (
                    "PATCH",
                    path,
                    patch_body({"op": "add", "path": "members", "value": [{"value": u}]}),
                    {},
                )
                for u in users
            ],
        )
        log = "\n".join(ex.describe(300) for ex in results)
        assert all(ex.status in (200, 204) for ex in results), log
        for ex in results:
            assert_scim_response(ex)
        members = {m["value"] for m in c.get(path).json.get("members", [])}
        assert members == set(users), f"lost: {set(users) - members}"


# -- groups and members (RFC 7643 §4.2, §4.1.2; RFC 7644 §3.5.2; behaviour.md §0.4) ---------------


@pytest.mark.parametrize(
    "ops",
    [
        [{"op": "add", "path": "members", "value": [{"value": "no-such-user"}]}],
        [{"op": "add", "path": "members", "value": [{"value": "{ok}"}, {"value": "no-such-user"}]}],
        [
            {"op": "add", "path": "members", "value": [{"value": "{ok}"}]},
            {
                "op": "add",
                "path": "members",
                "value": [{"value": "4f0b2c66-0000-0000-0000-000000000000"}],
            },
        ],
        [{"op": "replace", "path": "members", "value": [{"value": "no-such-user"}]}],
        [{"op": "replace", "value": {"members": [{"value": "no-such-user"}]}}],
    ],
    ids=[
        "add-unknown",
        "add-ok-and-unknown",
        "two-ops-second-unknown",
        "replace-unknown",
        "value-map",
    ],
)
def test_member_patch_with_an_unknown_id_is_400_and_the_group_unchanged(
    scim: ScimClient, ops: list[dict[str, Any]]
) -> None:
    # RFC 7644 §3.5.2, §3.12 (invalidValue); nothing half-written
    keep = _user(scim, "keep@example.com")["id"]
    ok = _user(scim, "ok@example.com")["id"]
    group = scim.create_group("G", [keep])
    path = f"/Groups/{group['id']}"
    before = _snapshot(scim, path)
    ops = json.loads(json.dumps(ops).replace("{ok}", ok))
    ex = scim.patch(path, patch_body(*ops))
    assert_error(ex, 400, "invalidValue")
    _unchanged(scim, path, before)
    assert group["id"] not in {g["value"] for g in scim.get(f"/Users/{ok}").json.get("groups", [])}


@pytest.mark.parametrize("how", ["POST", "PUT", "PATCH"])
def test_a_member_from_another_tenant_is_refused(live_server: LiveServer, how: str) -> None:
    # RFC 7644 §6 (tenant isolation); §3.12 (invalidValue)
    with live_server.client() as a, live_server.other_client() as b:
        foreign = b.create_user("foreign@example.com")["id"]
        b_group = b.create_group("B group")["id"]
        group = a.create_group("A group")
        path = f"/Groups/{group['id']}"
        before = _snapshot(a, path)
        for value in (foreign, b_group):
            if how == "POST":
                ex = a.post(
                    "/Groups",
                    {
                        "schemas": [GROUP_URN],
                        "displayName": f"X{value}",
                        "members": [{"value": value}],
                    },
                )
            elif how == "PUT":
                ex = a.put(
                    path,
                    {
                        "schemas": [GROUP_URN],
                        "displayName": "A group",
                        "members": [{"value": value}],
                    },
                )
            else:
                ex = a.patch(
                    path, patch_body({"op": "add", "path": "members", "value": [{"value": value}]})
                )
            assert_error(ex, 400, "invalidValue")
            _unchanged(a, path, before)
        assert a.get("/Groups?count=0").json["totalResults"] == 1
        assert b.get(f"/Users/{foreign}").json.get("groups", []) == []


def test_post_group_with_an_unknown_member_creates_nothing(scim: ScimClient) -> None:
    # RFC 7644 §3.3, §3.12; nothing half-written
    ex = scim.post(
        "/Groups",
        {"schemas": [GROUP_URN], "displayName": "Ghosts", "members": [{"value": "no-such-user"}]},
    )
    assert_error(ex, 400, "invalidValue")
    assert scim.get('/Groups?filter=displayName eq "Ghosts"').json["totalResults"] == 0


def test_deleting_a_user_removes_it_from_groups(scim: ScimClient) -> None:
    # RFC 7644 §3.6 (a deleted resource is gone everywhere); RFC 7643 §4.2
    a, b = _user(scim, "a@example.com")["id"], _user(scim, "b@example.com")["id"]
    group = scim.create_group("G", [a, b])
    assert_status(scim.delete(f"/Users/{a}"), 204)
    g = scim.get(f"/Groups/{group['id']}").json
    assert {m["value"] for m in g.get("members", [])} == {b}
    ex = scim.get(f'/Groups?filter=members.value eq "{a}"')
    assert_status(ex, 200)
    assert ex.json["totalResults"] == 0
    assert_error(scim.get(f"/Users/{a}"), 404)


def test_deleting_a_group_removes_it_from_parents_and_users(scim: ScimClient) -> None:
    # RFC 7644 §3.6; RFC 7643 §4.1.2
    u = _user(scim)["id"]
    inner = scim.create_group("Inner", [u])["id"]
    outer = scim.create_group("Outer", [inner])["id"]
    assert_status(scim.delete(f"/Groups/{inner}"), 204)
    assert scim.get(f"/Groups/{outer}").json.get("members", []) == []
    assert scim.get(f"/Users/{u}").json.get("groups", []) == []


def test_user_groups_show_direct_and_indirect_memberships(scim: ScimClient) -> None:
    # RFC 7643 §4.1.2 (groups: "direct" or "indirect"), §4.2 (nested groups)
    u = _user(scim)["id"]
    inner = scim.create_group("Inner", [u])["id"]
    middle = scim.create_group("Middle", [inner])["id"]
    outer = scim.create_group("Outer", [middle])["id"]
    scim.create_group("Unrelated")
    groups = {g["value"]: g for g in scim.get(f"/Users/{u}").json.get("groups", [])}
    assert set(groups) == {inner, middle, outer}, groups
    assert groups[inner].get("type") == "direct"
    assert groups[middle].get("type") == "indirect" and groups[outer].get("type") == "indirect"
    # groups is readOnly: a PUT/PATCH on the user does not change memberships.
    user = scim.get(f"/Users/{u}").json
    ex = scim.put(f"/Users/{u}", {**user, "groups": []})
    assert_status(ex, 200)
    assert {g["value"] for g in scim.get(f"/Users/{u}").json["groups"]} == {inner, middle, outer}


def test_a_group_cycle_is_refused(scim: ScimClient) -> None:
    # architecture.md ("refuses cycles"); RFC 7644 §3.12
    a = scim.create_group("A")["id"]
    b = scim.create_group("B", [a])["id"]
    before = _snapshot(scim, f"/Groups/{a}")
    ex = scim.patch(
        f"/Groups/{a}", patch_body({"op": "add", "path": "members", "value": [{"value": b}]})
    )
    assert ex.status == 400, ex.describe()
    assert_scim_response(ex)
    _unchanged(scim, f"/Groups/{a}", before)


@pytest.mark.parametrize(
    ("ops", "expected"),
    [
        ([{"op": "Remove", "path": "members", "value": [{"value": "{u1}"}]}], {"u2", "u3"}),
        ([{"op": "remove", "path": 'members[value eq "{u2}"]'}], {"u1", "u3"}),
        ([{"op": "remove", "path": 'members[value eq "not-a-member"]'}], {"u1", "u2", "u3"}),
        ([{"op": "add", "path": "members", "value": [{"value": "{u1}"}]}], {"u1", "u2", "u3"}),
        ([{"op": "remove", "path": "members"}], set()),
        ([{"op": "replace", "path": "members", "value": [{"value": "{u3}"}]}], {"u3"}),
        (
            [{"op": "Remove", "path": "members", "value": [{"value": "{u1}"}, {"value": "{u3}"}]}],
            {"u2"},
        ),
    ],
    ids=[
        "entra-value-array",
        "rfc-filter",
        "non-member",
        "re-add",
        "remove-all",
        "replace",
        "remove-two",
    ],
)
def test_member_removal_forms(
    scim: ScimClient, ops: list[dict[str, Any]], expected: set[str]
) -> None:
    # behaviour.md §0.4; RFC 7644 §3.5.2.2, §3.5.2.3
    ids = {f"u{i}": _user(scim, f"u{i}@example.com")["id"] for i in (1, 2, 3)}
    group = scim.create_group("G", list(ids.values()))
    text = json.dumps(ops)
    for k, v in ids.items():
        text = text.replace("{" + k + "}", v)
    assert_status(scim.patch(f"/Groups/{group['id']}", patch_body(*json.loads(text))), 200, 204)
    members = {m["value"] for m in scim.get(f"/Groups/{group['id']}").json.get("members", [])}
    assert members == {ids[k] for k in expected}


# -- listing: count=0, paging, cursors, max page size (RFC 7644 §3.4.2.4; RFC 9865) ---------------


@pytest.mark.parametrize(
    "where",
    [
        "/Users?count=0",
        '/Users?count=0&filter=userName sw "p"',
        "POST /Users/.search",
        "/Groups?count=0",
    ],
)
def test_count_zero_gives_only_total_results(scim: ScimClient, where: str) -> None:
    # RFC 7644 §3.4.2.4 ("0" ... no resource results ... except for "totalResults")
    for i in range(3):
        _user(scim, f"p{i}@example.com")
    scim.create_group("G1")
    if where.startswith("POST"):
        ex = scim.post(where.split(" ")[1], {"schemas": [SEARCH_URN], "count": 0})
    else:
        ex = scim.get(where)
    assert_status(ex, 200)
    expected = 1 if "Groups" in where else 3
    assert ex.json["totalResults"] == expected
    assert not ex.json.get("Resources"), "count=0 returns no resources"
    assert ex.json.get("itemsPerPage", 0) == 0


def test_index_paging_visits_every_row_once_in_a_stable_order(scim: ScimClient) -> None:
    # RFC 7644 §3.4.2.4; behaviour.md §0.6 (stable ordering across pages)
    ids = [_user(scim, f"page{i}@example.com")["id"] for i in range(7)]
    seen: list[str] = []
    start = 1
    while True:
        ex = scim.get(f"/Users?startIndex={start}&count=3")
        assert_status(ex, 200)
        body = ex.json
        assert body["startIndex"] == start and body["totalResults"] == 7
        page = [u["id"] for u in body.get("Resources", [])]
        assert body["itemsPerPage"] == len(page)
        if not page:
            break
        seen.extend(page)
        start += len(page)
    assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen))
    again = [u["id"] for u in scim.get("/Users?startIndex=1&count=100").json["Resources"]]
    assert again == seen, "the order is stable"
    beyond = scim.get("/Users?startIndex=50&count=3").json
    assert beyond["totalResults"] == 7 and not beyond.get("Resources")


def test_cursor_paging_while_another_client_inserts(live_server: LiveServer) -> None:
    # RFC 9865 §2 (cursor, nextCursor): no duplicates, no misses of pre-existing rows
    with live_server.client() as c, live_server.client() as writer:
        existing = {_user(c, f"cur{i:02}@example.com")["id"] for i in range(11)}
        seen: list[str] = []
        url = "/Users?cursor=&count=3"
        pages = 0
        while url:
            ex = c.get(url)
            assert_status(ex, 200)
            body = ex.json
            assert LIST_URN in body["schemas"]
            page = [u["id"] for u in body.get("Resources", [])]
            assert len(page) <= 3 and body["itemsPerPage"] == len(page)
            seen.extend(page)
            pages += 1
            writer.create_user(f"inserted{pages:02}@example.com")
            nxt = body.get("nextCursor")
            url = f"/Users?cursor={nxt}&count=3" if nxt else ""
            assert pages < 50, "cursor paging does not end"
        assert len(seen) == len(set(seen)), "a row came twice"
        assert existing <= set(seen), f"missed {existing - set(seen)}"


@pytest.mark.parametrize("first", ["/Users?cursor&count=2", "/Users?cursor=&count=2"])
def test_cursor_first_page_forms(scim: ScimClient, first: str) -> None:
    # RFC 9865 §2: the first request carries an empty cursor
    for i in range(3):
        _user(scim, f"f{i}@example.com")
    ex = scim.get(first)
    assert_status(ex, 200)
    assert len(ex.json["Resources"]) == 2 and ex.json.get("nextCursor")
    last = scim.get(f"/Users?cursor={ex.json['nextCursor']}&count=2")
    assert_status(last, 200)
    assert len(last.json["Resources"]) == 1 and not last.json.get("nextCursor")


def test_cursor_errors(scim: ScimClient) -> None:
    # RFC 9865 §4 (invalidCursor); a cursor is bound to its query
    for i in range(3):
        _user(scim, f"e{i}@example.com")
    cursor = scim.get("/Users?cursor&count=1").json["nextCursor"]
    assert_error(scim.get("/Users?cursor=garbage&count=1"), 400, "invalidCursor")
    assert_error(scim.get(f"/Users?cursor={cursor[:-2]}xx&count=1"), 400, "invalidCursor")
    assert_error(
        scim.get(f"/Users?cursor={cursor}&count=1&filter=userName pr"), 400, "invalidCursor"
    )
    assert_error(scim.get(f"/Groups?cursor={cursor}&count=1"), 400, "invalidCursor")


def test_service_provider_config_advertises_pagination(
    live_server_factory: Callable[..., LiveServer],
) -> None:
    # RFC 9865 §4; RFC 7643 §5 (filter.maxResults, bulk limits as configured)
    server = live_server_factory(max_page_size=7, default_page_size=4, bulk_max_operations=9)
    with server.client() as c:
        spc = c.get("/ServiceProviderConfig").json
    assert spc["pagination"]["cursor"] is True and spc["pagination"]["index"] is True
    assert spc["pagination"]["maxPageSize"] == 7 and spc["pagination"]["defaultPageSize"] == 4
    assert spc["filter"]["maxResults"] == 7 and spc["bulk"]["maxOperations"] == 9


def test_max_and_default_page_size_are_enforced(
    live_server_factory: Callable[..., LiveServer],
) -> None:
    # RFC 7644 §3.4.2.4 (the provider may return fewer); RFC 9865 §2; settings
    server = live_server_factory(max_page_size=5, default_page_size=3)
    with server.client() as c:
        for i in range(8):
            _user(c, f"max{i}@example.com")
        for path in ("/Users?count=100", "/Users?startIndex=1&count=6", "/Users?cursor&count=100"):
            ex = c.get(path)
            assert_status(ex, 200)
            assert len(ex.json["Resources"]) == 5 and ex.json["itemsPerPage"] == 5, path
            assert ex.json.get("totalResults") == 8 or "cursor" in path
        ex = c.get("/Users")
        assert len(ex.json["Resources"]) == 3, "the default page size applies without count"
        ex = c.post("/Users/.search", {"schemas": [SEARCH_URN], "count": 1000})
        assert len(ex.json["Resources"]) == 5
        ex = c.post("/.search", {"schemas": [SEARCH_URN], "count": 1000})
        assert len(ex.json["Resources"]) == 5


# -- attributes / excludedAttributes (RFC 7644 §3.4.2.5, §3.9; RFC 7643 §7) -----------------------


def _full_user(scim: ScimClient) -> dict[str, Any]:
    return _user(
        scim,
        "proj@example.com",
        name={"givenName": "Pro", "familyName": "Jection"},
        emails=[{"value": "proj@example.com", "type": "work"}],
        nickName="pj",
        password="Secret-123",
        **{ENTERPRISE_URN: {"department": "R&D"}},
        schemas=[USER_URN, ENTERPRISE_URN],
    )


@pytest.mark.parametrize(
    ("query", "present", "absent"),
    [
        ("attributes=userName", {"id", "userName"}, {"name", "emails", "nickName", ENTERPRISE_URN}),
        ("attributes=name.givenName", {"id", "name"}, {"userName", "emails"}),
        (f"attributes={USER_URN}:nickName", {"id", "nickName"}, {"userName", "name"}),
        (f"attributes={ENTERPRISE_URN}:department", {"id", ENTERPRISE_URN}, {"userName", "name"}),
        ("excludedAttributes=emails,name", {"id", "userName", "nickName"}, {"emails", "name"}),
        ("excludedAttributes=id", {"id", "userName"}, set()),
        ("attributes=USERNAME", {"id", "userName"}, {"name"}),
        ("attributes=password", {"id"}, {"password", "userName"}),
    ],
)
@pytest.mark.parametrize("read", ["GET", "LIST", "SEARCH", "POST", "PUT", "PATCH"])
def test_attributes_and_excluded_attributes(
    scim: ScimClient, query: str, present: set[str], absent: set[str], read: str
) -> None:
    # RFC 7644 §3.4.2.5 (reads), §3.9 (write responses); RFC 7643 §7 (returned "always")
    user = _full_user(scim)
    uid = user["id"]
    param, value = query.split("=", 1)
    qs = "?" + str(httpx.QueryParams({param: value}))
    if read == "GET":
        ex = scim.get(f"/Users/{uid}{qs}")
    elif read == "LIST":
        ex = scim.get(
            "/Users?" + str(httpx.QueryParams({param: value, "filter": f'id eq "{uid}"'}))
        )
    elif read == "SEARCH":
        ex = scim.post(
            "/Users/.search",
            {"schemas": [SEARCH_URN], "filter": f'id eq "{uid}"', param: value.split(",")},
        )
    elif read == "POST":
        assert_status(scim.delete(f"/Users/{uid}"), 204)
        ex = scim.post(
            f"/Users{qs}",
            {k: v for k, v in user.items() if k not in ("id", "meta")} | {"password": "Secret-123"},
        )
    elif read == "PUT":
        ex = scim.put(f"/Users/{uid}{qs}", {k: v for k, v in user.items() if k != "meta"})
    else:
        ex = scim.patch(
            f"/Users/{uid}{qs}", patch_body({"op": "replace", "path": "nickName", "value": "pj"})
        )
    assert_status(ex, 200, 201)
    body = ex.json
    resource = body["Resources"][0] if "Resources" in body else body
    if read in ("LIST", "SEARCH"):
        assert body["totalResults"] == 1
    assert present <= set(resource), f"missing {present - set(resource)} in {resource}"
    assert not absent & set(resource), f"unexpected {absent & set(resource)} in {resource}"
    assert "password" not in json.dumps(resource).lower().replace("secret", "")
    if query == "attributes=name.givenName":
        assert resource["name"] == {"givenName": "Pro"}


def test_excluded_members_on_groups(scim: ScimClient) -> None:
    # RFC 7644 §3.4.2.5; behaviour.md §2 (Entra: excludedAttributes=members)
    u = _user(scim)["id"]
    g = scim.create_group("G", [u])["id"]
    for path in (
        f"/Groups/{g}?excludedAttributes=members",
        "/Groups?excludedAttributes=members",
        '/Groups?excludedAttributes=members&filter=displayName eq "G"',
    ):
        body = scim.get(path).json
        resource = body["Resources"][0] if "Resources" in body else body
        assert "members" not in resource and resource["displayName"] == "G"
    ex = scim.patch(
        f"/Groups/{g}?excludedAttributes=members",
        patch_body({"op": "replace", "path": "displayName", "value": "H"}),
    )
    assert_status(ex, 200, 204)
    if ex.status == 200:
        assert "members" not in ex.json
    assert {m["value"] for m in scim.get(f"/Groups/{g}?attributes=members").json["members"]} == {u}


# -- password is never returned (RFC 7643 §4.1.1, §7) ---------------------------------------------


def test_password_is_never_returned(scim: ScimClient) -> None:
    # RFC 7643 §4.1.1 (password: returned "never"); behaviour.md §0.7
    user = _full_user(scim)
    uid = user["id"]
    exchanges = [
        scim.get(f"/Users/{uid}"),
        scim.get("/Users"),
        scim.get(f"/Users/{uid}?attributes=password"),
        scim.put(
            f"/Users/{uid}",
            {"schemas": [USER_URN], "userName": "proj@example.com", "password": "P-2"},
        ),
        scim.patch(
            f"/Users/{uid}", patch_body({"op": "replace", "path": "password", "value": "P-3"})
        ),
        scim.patch(f"/Users/{uid}", patch_body({"op": "replace", "value": {"password": "P-4"}})),
        scim.post(
            "/Users/.search", {"schemas": [SEARCH_URN], "attributes": ["password", "userName"]}
        ),
        scim.post("/.search", {"schemas": [SEARCH_URN]}),
        scim.post(
            "/Bulk",
            {
                "schemas": [BULK_REQUEST_URN],
                "Operations": [
                    {
                        "method": "POST",
                        "path": "/Users",
                        "bulkId": "p",
                        "data": {
                            "schemas": [USER_URN],
                            "userName": "bulkpw@example.com",
                            "password": "P-5",
                        },
                    }
                ],
            },
        ),
    ]
    for ex in exchanges:
        assert_status(ex, 200, 201)
        text = ex.response_body.decode().lower()
        assert '"password"' not in text and "p-2" not in text and "secret-123" not in text, (
            ex.describe()
        )


# -- PUT with what Okta echoes (RFC 7644 §3.5.1; behaviour.md §0.7) -------------------------------


def test_put_with_oktas_echoed_id_meta_groups_password(scim: ScimClient) -> None:
    # RFC 7644 §3.5.1 (readOnly attributes ignored); behaviour.md §0.7, §1
    user = _user(scim, "echo@example.com", name={"givenName": "E", "familyName": "Cho"})
    group = scim.create_group("G", [user["id"]])
    got = scim.get(f"/Users/{user['id']}").json
    body = {
        **got,
        "name": {"givenName": "Echo", "familyName": "Cho"},
        "password": "TkdFNVdIVkxhM2c9",
        "groups": [],
        "meta": {
            "resourceType": "User",
            "created": "04-12-2018 00:00:00",
            "lastModified": "04-12-2018 00:00:00",
            "version": "v1.0",
            "location": "x",
        },
    }
    ex = scim.put(f"/Users/{user['id']}", body)
    assert_status(ex, 200)
    after = ex.json
    assert after["id"] == user["id"] and after["name"]["givenName"] == "Echo"
    assert after["meta"]["created"] == got["meta"]["created"]
    assert after["meta"]["version"] not in ("v1.0", got["meta"]["version"])
    assert after["meta"]["location"].endswith(f"/Users/{user['id']}")
    assert {g["value"] for g in after.get("groups", [])} == {group["id"]}
    assert "password" not in after


def test_put_group_with_echoed_read_only_attributes(scim: ScimClient) -> None:
    # RFC 7644 §3.5.1; behaviour.md §1 (AIW: GET then PUT of the full group)
    u = _user(scim)["id"]
    group = scim.create_group("Echo", [u])
    got = scim.get(f"/Groups/{group['id']}").json
    ex = scim.put(
        f"/Groups/{group['id']}",
        {**got, "displayName": "Echo 2", "meta": {"resourceType": "Group", "created": "nope"}},
    )
    assert_status(ex, 200)
    assert ex.json["displayName"] == "Echo 2" and {m["value"] for m in ex.json["members"]} == {u}


# -- Bulk (RFC 7644 §3.7) -------------------------------------------------------------------------


def _bulk(scim: ScimClient, ops: list[dict[str, Any]], **extra: Any) -> Exchange:
    return scim.post("/Bulk", {"schemas": [BULK_REQUEST_URN], "Operations": ops, **extra})


def test_bulk_with_bulk_id_references(scim: ScimClient) -> None:
    # RFC 7644 §3.7.1, §3.7.2 (bulkId), §3.7.3 (response)
    ex = _bulk(
        scim,
        [
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "u1",
                "data": {"schemas": [USER_URN], "userName": "bulk1@example.com"},
            },
            {
                "method": "POST",
                "path": "/Groups",
                "bulkId": "g1",
                "data": {
                    "schemas": [GROUP_URN],
                    "displayName": "Bulk Group",
                    "members": [{"type": "User", "value": "bulkId:u1"}],
                },
            },
            {
                "method": "PATCH",
                "path": "/Users/bulkId:u1",
                "data": patch_body({"op": "replace", "path": "nickName", "value": "bn"}),
            },
        ],
    )
    assert_status(ex, 200)
    assert BULK_RESPONSE_URN in ex.json["schemas"]
    ops = ex.json["Operations"]
    assert [o["status"] for o in ops] == ["201", "201", "200"], ops
    by_id = {o.get("bulkId"): o for o in ops if o.get("bulkId")}
    uid = by_id["u1"]["location"].rsplit("/", 1)[-1]
    gid = by_id["g1"]["location"].rsplit("/", 1)[-1]
    assert {m["value"] for m in scim.get(f"/Groups/{gid}").json["members"]} == {uid}
    assert scim.get(f"/Users/{uid}").json["nickName"] == "bn"
    for o in ops:
        assert isinstance(o["status"], str) and o["method"] in ("POST", "PATCH")


def test_bulk_fail_on_errors_stops_processing(scim: ScimClient) -> None:
    # RFC 7644 §3.7.3 (failOnErrors)
    _user(scim, "dup@example.com")
    ex = _bulk(
        scim,
        [
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "a",
                "data": {"schemas": [USER_URN], "userName": "first@example.com"},
            },
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "b",
                "data": {"schemas": [USER_URN], "userName": "DUP@example.com"},
            },
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "c",
                "data": {"schemas": [USER_URN], "userName": "third@example.com"},
            },
        ],
        failOnErrors=1,
    )
    assert_status(ex, 200)
    ops = ex.json["Operations"]
    assert [o["status"] for o in ops] == ["201", "409"], ops
    assert ops[1]["response"]["scimType"] == "uniqueness"
    assert not error_body_problems(ops[1]["response"], 409)
    assert _count_users(scim, 'userName eq "third@example.com"') == 0, "processing must stop"
    assert _count_users(scim, 'userName eq "first@example.com"') == 1


def test_bulk_without_fail_on_errors_runs_everything(scim: ScimClient) -> None:
    # RFC 7644 §3.7.3 (all operations are attempted)
    ex = _bulk(
        scim,
        [
            {"method": "DELETE", "path": "/Users/missing"},
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "x",
                "data": {"schemas": [USER_URN], "userName": "after.error@example.com"},
            },
        ],
    )
    assert_status(ex, 200)
    assert [o["status"] for o in ex.json["Operations"]] == ["404", "201"]


def test_bulk_limits(live_server_factory: Callable[..., LiveServer]) -> None:
    # RFC 7644 §3.7.4 (maxOperations, maxPayloadSize: 413)
    server = live_server_factory(bulk_max_operations=2, bulk_max_payload_bytes=4096)
    with server.client() as c:
        op = {
            "method": "POST",
            "path": "/Users",
            "data": {"schemas": [USER_URN], "userName": "lim@example.com"},
        }
        ex = _bulk(c, [dict(op, bulkId=str(i)) for i in range(3)])
        assert_error(ex, 413)
        ex = _bulk(c, [dict(op, bulkId="big", data={**op["data"], "nickName": "x" * 5000})])
        assert_error(ex, 413)
        assert _count_users(c, 'userName eq "lim@example.com"') == 0


def test_bulk_unresolvable_bulk_id_is_an_error(scim: ScimClient) -> None:
    # RFC 7644 §3.7.2 (an undefined bulkId is an error for that operation)
    ex = _bulk(
        scim,
        [
            {
                "method": "POST",
                "path": "/Groups",
                "bulkId": "g",
                "data": {
                    "schemas": [GROUP_URN],
                    "displayName": "G",
                    "members": [{"value": "bulkId:nowhere"}],
                },
            }
        ],
    )
    assert_status(ex, 200)
    op = ex.json["Operations"][0]
    assert op["status"] == "400" or op["status"] == "409", op
    assert scim.get('/Groups?filter=displayName eq "G"').json["totalResults"] == 0


# -- POST /.search (RFC 7644 §3.4.3) --------------------------------------------------------------


def test_search_at_the_root_and_per_type(scim: ScimClient) -> None:
    # RFC 7644 §3.4.3
    users = [_user(scim, f"s{i}@example.com")["id"] for i in range(3)]
    group = scim.create_group("Searchers", users[:1])["id"]
    ex = scim.post("/.search", {"schemas": [SEARCH_URN]})
    assert_status(ex, 200)
    assert ex.json["totalResults"] == 4
    assert {r["id"] for r in ex.json["Resources"]} == {*users, group}
    ex = scim.post("/.search", {"schemas": [SEARCH_URN], "filter": 'userName sw "s"'})
    assert ex.json["totalResults"] == 3
    ex = scim.post(
        "/.search",
        {
            "schemas": [SEARCH_URN],
            "filter": 'displayName eq "Searchers"',
            "attributes": ["displayName"],
        },
    )
    assert [r["id"] for r in ex.json["Resources"]] == [group]
    ex = scim.post("/.search", {"schemas": [SEARCH_URN], "startIndex": 3, "count": 2})
    assert ex.json["totalResults"] == 4 and len(ex.json["Resources"]) == 2
    ex = scim.post(
        "/Users/.search",
        {
            "schemas": [SEARCH_URN],
            "filter": 'userName eq "S1@EXAMPLE.COM"',
            "excludedAttributes": ["meta"],
        },
    )
    assert_status(ex, 200)
    assert [r["id"] for r in ex.json["Resources"]] == [users[1]] and "meta" not in ex.json[
        "Resources"
    ][0]
    ex = scim.post(
        "/Groups/.search", {"schemas": [SEARCH_URN], "filter": f'members.value eq "{users[0]}"'}
    )
    assert [r["id"] for r in ex.json["Resources"]] == [group]
    ex = scim.post(
        "/Users/.search", {"schemas": [SEARCH_URN], "sortBy": "userName", "sortOrder": "descending"}
    )
    names = [r["userName"] for r in ex.json["Resources"]]
    assert names == sorted(names, reverse=True)
    assert_error(scim.get("/.search"), 405)


# -- nothing half-written, no traceback (RFC 7644 §3.12; architecture.md) -------------------------


@pytest.mark.parametrize(
    ("body", "scim_type"),
    [
        ({"userName": "bad.active@example.com", "active": "maybe"}, "invalidValue"),
        ({"userName": ""}, None),
        ({"name": {"givenName": "No userName"}}, None),
        ({"userName": "bad.ext@example.com", ENTERPRISE_URN: "not-an-object"}, None),
        ([{"userName": "a"}], None),
    ],
    ids=[
        "bad-boolean",
        "empty-username",
        "no-username",
        "extension-string",
        "array-body",
    ],
)
def test_rejected_create_writes_nothing(scim: ScimClient, body: Any, scim_type: str | None) -> None:
    # RFC 7644 §3.3, §3.12; behaviour.md §0.2 (only true/false strings coerce)
    ex = scim.post("/Users", body)
    assert ex.status == 400, ex.describe()
    assert_error(ex, 400, scim_type)
    assert scim.get("/Users?count=0").json["totalResults"] == 0


@pytest.mark.parametrize(
    "ops",
    [
        [
            {"op": "replace", "path": "nickName", "value": "changed"},
            {"op": "replace", "path": "active", "value": "maybe"},
        ],
        [
            {"op": "replace", "path": "nickName", "value": "changed"},
            {"op": "replace", "path": "name", "value": "not-an-object"},
        ],
        [
            {"op": "replace", "path": "nickName", "value": "changed"},
            {"op": "frobnicate", "path": "x"},
        ],
        [{"op": "replace", "path": "nickName", "value": "changed"}, {"op": "remove"}],
        [
            {"op": "replace", "path": "nickName", "value": "changed"},
            {"op": "add", "path": "emails[type eq", "value": "x"},
        ],
    ],
    ids=["bad-value", "complex-as-string", "bad-op", "remove-without-path", "bad-path"],
)
def test_a_failed_patch_applies_no_operation(scim: ScimClient, ops: list[dict[str, Any]]) -> None:
    # RFC 7644 §3.5.2 ("all or nothing"), §3.12
    user = _user(scim, emails=[{"value": "w@example.com", "type": "work"}], nickName="orig")
    path = f"/Users/{user['id']}"
    before = _snapshot(scim, path)
    ex = scim.patch(path, patch_body(*ops))
    assert ex.status == 400, ex.describe()
    assert_scim_response(ex)
    assert ex.json.get("scimType") in {
        "invalidValue",
        "noTarget",
        "invalidSyntax",
        "invalidPath",
        "mutability",
        "invalidFilter",
    }, ex.describe()
    _unchanged(scim, path, before)


NASTY: list[tuple[str, str, Any]] = [
    ("GET", "/Users?filter=" + "a" * 5000 + ' eq "x"', None),
    ("GET", '/Users?filter=userName eq "\u202e\U0001f600"', None),
    ("GET", '/Users?filter=meta.lastModified gt "not-a-date"', None),
    ("GET", '/Users?filter=active eq "maybe"', None),
    ("GET", "/Users?sortBy=emails.value&sortOrder=descending", None),
    ("GET", '/Users?filter=emails[value co "a" and type eq "work"].display pr', None),
    ("GET", "/Users/%00", None),
    (
        "PATCH",
        "/Groups/a%00b",
        {"Operations": [{"op": "replace", "path": "displayName", "value": "x"}]},
    ),
    ("DELETE", "/Users/%00", None),
    ("POST", "/Users", {"userName": "nul\u0000byte@example.com"}),
    ("POST", "/Users", {"userName": "nul.nick@example.com", "nickName": "a\u0000b"}),
    ("GET", '/Users?filter=userName eq "a\u0000b"', None),
    ("GET", "/Users/" + "x" * 3000, None),
    (
        "PATCH",
        "/Users/{id}",
        {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": "x"},
    ),
    (
        "PATCH",
        "/Users/{id}",
        {"Operations": [{"op": "add", "path": "name.givenName.x", "value": 1}]},
    ),
    ("PATCH", "/Users/{id}", {"Operations": [{"op": "replace", "value": [1, 2]}]}),
    ("PATCH", "/Users/{id}", {"Operations": [None]}),
    ("PUT", "/Users/{id}", {"userName": {"nested": True}}),
    ("POST", "/Users", {"userName": "deep@example.com", "name": {"givenName": {"a": {"b": [1]}}}}),
    ("POST", "/Users", json.loads("[" * 200 + "]" * 200)),
    ("POST", "/Groups", {"displayName": "x", "members": [{"value": None}]}),
    ("POST", "/Groups", {"displayName": "x", "members": "nope"}),
    ("POST", "/Bulk", {"Operations": [{"method": "GET", "path": "/Users"}]}),
    ("POST", "/Bulk", {"Operations": [{"method": "POST", "path": "/Nope", "data": {}}]}),
    ("POST", "/.search", {"filter": 7}),
]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    NASTY,
    ids=[f"{i:02}-{m} {p[:40]}" for i, (m, p, _) in enumerate(NASTY)],
)
def test_no_response_ever_contains_a_traceback(
    scim: ScimClient, method: str, path: str, body: Any
) -> None:
    # RFC 7644 §3.12; architecture.md (a 500 carries no traceback; none should occur here)
    user = _user(scim)
    ex = scim.request(method, path.format(id=user["id"]), json_body=body)
    problems = response_problems(ex)
    assert not problems, "; ".join(problems) + "\n" + ex.describe()
    assert ex.status < 500, f"odd input must be a 4xx, not {ex.status}\n{ex.describe()}"


def test_every_response_of_this_suite_was_scim(scim: ScimClient) -> None:
    # RFC 7644 §8.1: a SCIM error body on errors, application/scim+json on every body
    user = _user(scim)
    for method, path in [
        ("GET", "/Users"),
        ("GET", f"/Users/{user['id']}"),
        ("GET", "/Schemas"),
        ("GET", "/ResourceTypes"),
        ("GET", "/ServiceProviderConfig"),
        ("GET", "/Nope"),
        ("DELETE", "/Groups/x"),
    ]:
        assert_scim_response(scim.request(method, path))
    for ex in scim.log:
        assert not response_problems(ex), ex.describe()
        if ex.status >= 400:
            assert ERROR_URN in ex.json["schemas"]


@pytest.mark.parametrize(
    "change",
    [
        {"active": "maybe"},
        {"userName": ""},
        {"emails": [{"value": "x", "primary": "sometimes"}]},
        {"name": "not-an-object"},
    ],
    ids=["bad-boolean", "empty-username", "bad-primary", "complex-as-string"],
)
def test_a_failed_put_changes_nothing(scim: ScimClient, change: dict[str, Any]) -> None:
    # RFC 7644 §3.5.1, §3.12; nothing half-written
    user = _user(scim, nickName="orig")
    path = f"/Users/{user['id']}"
    before = _snapshot(scim, path)
    ex = scim.put(
        path, {"schemas": [USER_URN], "userName": user["userName"], "nickName": "new", **change}
    )
    assert ex.status == 400, ex.describe()
    assert_scim_response(ex)
    _unchanged(scim, path, before)


def test_only_the_first_cursor_page_carries_total_results(live_server: LiveServer) -> None:
    # RFC 9865 §2: totalResults may be omitted on cursor pages; scimhub counts once, on
    # the first page (empty cursor), so following a cursor never counts the tenant.
    with live_server.client() as c:
        for i in range(3):
            _user(c, f"t{i}@example.com")
        first = c.get("/Users?cursor=&count=2").json
        assert first["totalResults"] == 3 and len(first["Resources"]) == 2
        second = c.get(f"/Users?cursor={first['nextCursor']}&count=2").json
        assert "totalResults" not in second
        assert len(second["Resources"]) == 1 and "nextCursor" not in second
