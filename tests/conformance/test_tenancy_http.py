"""Tokens, gates and provider segments over HTTP against a live server, on both backends:
cross-tenant refusal, revocation on the very next request (also with two
servers on one database), regenerate with and without grace, expiry, bring-your-own
digests, each gate's 403 with its reason, `require_sso=False`, provider URLs, provider-
bound tokens, the provider recorded on writes, and token usage written in batches."""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import uvicorn
from conformance_support import (
    GROUP_URN,
    USER_URN,
    LiveServer,
    ScimClient,
    assert_error,
    assert_status,
    patch_body,
)
from sqlalchemy import delete, select
from starlette.testclient import TestClient

from scimhub.db.engine import Database
from scimhub.db.tables import groups, sso_connections, tokens, users
from scimhub.settings import Settings
from scimhub.tenancy.sso import set_connection, set_state
from scimhub.tenancy.tenants import Tenant, get_tenant, update_tenant
from scimhub.tenancy.tokens import (
    create_token,
    import_token_hash,
    issue_token,
    regenerate_token,
    revoke_token,
)
from scimhub.web.app import create_app

LiveDb = tuple[Database, dict[str, Any]]


def _acme(db: Database) -> Tenant:
    with db.read() as conn:
        found = get_tenant(conn, "acme")
    assert found is not None
    return found


def _issue(db: Database, **kw: Any) -> tuple[str, str]:
    """A new token of tenant acme: (token, id)."""
    with db.write() as conn:
        token, info = issue_token(conn, _acme(db), created_by="test", **kw)
    return token, info.id


def _token_id(db: Database, token: str) -> str:
    with db.read() as conn:
        row = conn.execute(
            select(tokens.c.id).where(tokens.c.hash == hashlib.sha512(token.encode()).hexdigest())
        ).one()
    return str(row.id)


def _status(client: ScimClient, path: str = "/Users") -> int:
    return client.get(path).status


# -- tokens --------------------------------------------------------------------------------


def test_a_token_of_tenant_a_is_refused_on_tenant_b(live_server: LiveServer) -> None:
    with ScimClient(live_server.other_base_url, live_server.token) as wrong:
        assert_error(wrong.get("/Users"), 401)
        assert_error(wrong.get("/okta/Users"), 401)
        assert_error(wrong.get("/ServiceProviderConfig"), 401)
    with live_server.client() as right:
        assert_status(right.get("/Users"), 200)


def test_a_revoked_token_is_refused_on_the_next_request(
    live_server: LiveServer, live_db: LiveDb
) -> None:
    db, _ = live_db
    token, token_id = _issue(db)
    with live_server.client(token) as client:
        assert_status(client.get("/Users"), 200)
        with db.write() as conn:
            revoke_token(conn, live_server.tenant_id, token_id, revoked_by="test")
        body = assert_error(client.get("/Users"), 401)
        assert "not valid" in body["detail"]
    with live_server.client() as other:
        assert_status(other.get("/Users"), 200)  # the tenant's other token still works


@contextmanager
def _server(settings: Settings, db: Database) -> Iterator[str]:
    """Another uvicorn server in a thread, with its own app and connection pool."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(settings, db), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


def test_revocation_holds_on_every_instance_sharing_the_database(
    live_server: LiveServer, live_db: LiveDb, database_url: str
) -> None:
    db, _ = live_db
    token, token_id = _issue(db)
    second_db = Database(database_url)
    try:
        with _server(Settings(database_url=database_url), second_db) as root:
            clients = [
                live_server.client(token),
                ScimClient(f"{root}/scim/v2/acme", token),
            ]
            # Both instances have served the token (nothing to cache it would be now).
            for client in clients:
                for _ in range(3):
                    assert_status(client.get("/Users"), 200)
            with db.write() as conn:
                revoke_token(conn, live_server.tenant_id, token_id, revoked_by="test")
            for client in clients:
                assert_error(client.get("/Users"), 401)
                client.close()
    finally:
        second_db.dispose()


def test_regenerate_without_grace(live_server: LiveServer, live_db: LiveDb) -> None:
    db, _ = live_db
    old, old_id = _issue(db)
    with db.write() as conn:
        new, _ = regenerate_token(conn, _acme(db), old_id, grace=None, created_by="test")
    with live_server.client(old) as stale, live_server.client(new) as fresh:
        assert_error(stale.get("/Users"), 401)
        assert_status(fresh.get("/Users"), 200)


def test_regenerate_with_grace(live_server: LiveServer, live_db: LiveDb) -> None:
    db, _ = live_db
    old, old_id = _issue(db)
    grace = timedelta(seconds=2)
    with db.write() as conn:
        new, _ = regenerate_token(conn, _acme(db), old_id, grace=grace, created_by="test")
    ends = time.monotonic() + grace.total_seconds()
    with live_server.client(old) as stale, live_server.client(new) as fresh:
        # During the grace period both tokens work: the IdP can be updated without a gap.
        assert_status(stale.get("/Users"), 200)
        assert_status(fresh.get("/Users"), 200)
        assert time.monotonic() < ends, "the check ran too late to mean anything"
        time.sleep(max(0.0, ends - time.monotonic()) + 0.3)
        assert_error(stale.get("/Users"), 401)
        assert_status(fresh.get("/Users"), 200)


def test_an_expired_token_is_refused(live_server: LiveServer, live_db: LiveDb) -> None:
    db, _ = live_db
    expires = datetime.now(UTC) + timedelta(seconds=1.5)
    token, _ = _issue(db, expires_at=expires)
    with live_server.client(token) as client:
        assert_status(client.get("/Users"), 200)
        time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 0.3)
        assert_error(client.get("/Users"), 401)


def test_bring_your_own_token(live_server: LiveServer, live_db: LiveDb) -> None:
    db, _ = live_db
    mine = "an-idp-admins-own-secret-0123456789abcdef0123456789abcdef"
    with db.write() as conn:
        import_token_hash(
            conn, _acme(db), hashlib.sha512(mine.encode()).hexdigest().upper(), created_by="t"
        )
    with live_server.client(mine) as client:
        assert_status(client.get("/Users"), 200)
        assert_status(client.post("/Users", {"schemas": [USER_URN], "userName": "byo"}), 201)
    with live_server.client(mine + "x") as wrong:
        assert_error(wrong.get("/Users"), 401)


# -- gates ---------------------------------------------------------------------------------


def _no_sso(db: Database, tenant_id: str) -> None:
    with db.write() as conn:
        conn.execute(delete(sso_connections).where(sso_connections.c.tenant_id == tenant_id))


def _sso_configured(db: Database, tenant_id: str) -> None:
    with db.write() as conn:
        set_connection(conn, tenant_id, protocol="saml", idp_id="urn:acme:new-idp")


def _sso_verified(db: Database, tenant_id: str) -> None:
    with db.write() as conn:
        set_state(conn, tenant_id, "verified")


def _update(**change: Any) -> Callable[[Database, str], None]:
    def apply(db: Database, _tenant_id: str) -> None:
        with db.write() as conn:
            update_tenant(conn, "acme", **change)

    return apply


GATES = [
    ("suspended", _update(status="suspended"), "tenant_suspended", "suspended"),
    ("scim-disabled", _update(scim_enabled=False), "scim_disabled", "SCIM is disabled"),
    ("plan", _update(plan_includes_scim=False), "plan_excludes_scim", "excludes SCIM"),
    ("sso-missing", _no_sso, "sso_not_configured", "no SSO connection"),
    ("sso-configured", _sso_configured, "sso_not_active", "not active"),
    ("sso-verified", _sso_verified, "sso_not_active", "not active"),
]


@pytest.mark.parametrize(
    ("close", "code", "words"), [g[1:] for g in GATES], ids=[g[0] for g in GATES]
)
def test_each_gate_refuses_with_its_reason(
    live_server: LiveServer,
    live_db: LiveDb,
    close: Callable[[Database, str], None],
    code: str,
    words: str,
) -> None:
    db, _ = live_db
    with live_server.client() as client:
        assert_status(client.get("/Users"), 200)
        close(db, live_server.tenant_id)
        for ex in (
            client.get("/Users"),
            client.post("/Users", {"schemas": [USER_URN], "userName": "refused"}),
            client.get("/ServiceProviderConfig"),
            client.get("/okta/Groups"),
        ):
            body = assert_error(ex, 403)
            assert code in body["detail"] and words in body["detail"], body
        # A bad token still gets 401: the tenant's state is not shown to strangers.
        with live_server.client("scimhub_wrong") as stranger:
            assert_error(stranger.get("/Users"), 401)
    # Nothing was written, and the other tenant is served as before.
    with db.read() as conn:
        assert (
            conn.execute(select(users.c.id).where(users.c.user_name == "refused")).first() is None
        )
    with live_server.other_client() as other:
        assert_status(other.get("/Users"), 200)


@pytest.mark.parametrize(
    "close", [_no_sso, _sso_configured, _sso_verified], ids=["missing", "configured", "verified"]
)
def test_require_sso_off_lifts_the_sso_gate_only(
    live_server_factory: Callable[..., LiveServer],
    live_db: LiveDb,
    close: Callable[[Database, str], None],
) -> None:
    db, _ = live_db
    strict = live_server_factory()
    relaxed = live_server_factory(require_sso=False)
    close(db, strict.tenant_id)
    with strict.client() as client:
        assert "sso_not_" in assert_error(client.get("/Users"), 403)["detail"]
    with relaxed.client() as client:
        assert_status(client.get("/Users"), 200)
        _update(status="suspended")(db, relaxed.tenant_id)
        assert "tenant_suspended" in assert_error(client.get("/Users"), 403)["detail"]


def test_a_reopened_gate_serves_again(live_server: LiveServer, live_db: LiveDb) -> None:
    db, _ = live_db
    with live_server.client() as client:
        _update(scim_enabled=False)(db, live_server.tenant_id)
        assert_error(client.get("/Users"), 403)
        _update(scim_enabled=True)(db, live_server.tenant_id)
        assert_status(client.get("/Users"), 200)


# -- provider segments ---------------------------------------------------------------------


def _row(db: Database, table: Any, id: str) -> tuple[str | None, str | None]:
    with db.read() as conn:
        row = conn.execute(
            select(table.c.created_provider, table.c.updated_provider).where(table.c.id == id)
        ).one()
    return row.created_provider, row.updated_provider


def test_provider_urls_serve_the_tenant_and_carry_the_provider(
    live_server: LiveServer, live_db: LiveDb
) -> None:
    db, _ = live_db
    base = live_server.base_url
    with live_server.client() as client:
        created = client.post("/okta/Users", {"schemas": [USER_URN], "userName": "ada"})
        assert_status(created, 201)
        user = created.json
        location = f"{base}/okta/Users/{user['id']}"
        assert user["meta"]["location"] == location
        assert created.response_headers["location"] == location
        # Provider columns are never rendered.
        assert "provider" not in created.response_body.decode().lower()
        # The same user through the bare URL and another provider's URL.
        bare = client.get(f"/Users/{user['id']}")
        assert_status(bare, 200)
        assert bare.json["meta"]["location"] == f"{base}/Users/{user['id']}"
        listed = client.get("/Entra/Users")  # the segment is folded to lower case
        assert_status(listed, 200)
        assert [r["meta"]["location"] for r in listed.json["Resources"]] == [
            f"{base}/entra/Users/{user['id']}"
        ]
        group = client.post(
            "/okta/Groups",
            {"schemas": [GROUP_URN], "displayName": "eng", "members": [{"value": user["id"]}]},
        )
        assert_status(group, 201)
        assert group.json["members"][0]["$ref"] == f"{base}/okta/Users/{user['id']}"
        config = client.get("/okta/ServiceProviderConfig")
        assert_status(config, 200)
        assert config.json["meta"]["location"].startswith(f"{base}/okta/")
        assert_status(client.get("/okta/ResourceTypes/User"), 200)
        assert_status(client.get("/okta/Schemas"), 200)
        searched = client.post(
            "/okta/.search", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]}
        )
        assert_status(searched, 200)
        assert searched.json["totalResults"] == 2
        assert_error(client.get("/okta/Me"), 501)
        # Unknown paths under a provider, and a segment that cannot be a provider.
        assert_error(client.get("/okta"), 404)
        assert_error(client.get("/okta/Widgets"), 404)
        assert_error(client.get("/okta/entra/Users"), 404)
        assert_error(client.get("/not_a_provider/Users"), 404)
        assert_error(client.get("/okta/Users/", headers={"Authorization": "Bearer x"}), 401)
    assert _row(db, users, user["id"]) == ("okta", "okta")
    assert _row(db, groups, group.json["id"]) == ("okta", "okta")


def test_writes_record_the_provider_that_made_them(
    live_server: LiveServer, live_db: LiveDb
) -> None:
    db, _ = live_db
    with live_server.client() as client:
        user = client.post("/Users", {"schemas": [USER_URN], "userName": "grace"}).json
        uid = user["id"]
        assert _row(db, users, uid) == (None, None)
        replace_op = {"op": "replace", "path": "displayName", "value": "Grace H"}
        assert_status(client.patch(f"/okta/Users/{uid}", patch_body(replace_op)), 200)
        assert _row(db, users, uid) == (None, "okta")
        put = client.put(
            f"/entra/Users/{uid}", {"schemas": [USER_URN], "userName": "grace", "title": "RADM"}
        )
        assert_status(put, 200)
        assert put.json["meta"]["location"].endswith(f"/entra/Users/{uid}")
        assert _row(db, users, uid) == (None, "entra")
        # A write that changes nothing is no write: the provider stays.
        assert_status(client.put(f"/okta/Users/{uid}", put.json), 200)
        assert _row(db, users, uid) == (None, "entra")
        gid = client.post("/entra/Groups", {"schemas": [GROUP_URN], "displayName": "ops"}).json[
            "id"
        ]
        add = {"op": "add", "path": "members", "value": [{"value": uid}]}
        assert_status(client.patch(f"/okta/Groups/{gid}", patch_body(add)), 200)
        assert _row(db, groups, gid) == ("entra", "okta")
        # Deleting a member changes its groups: the deleting provider is recorded there.
        assert_status(client.delete(f"/onelogin/Users/{uid}"), 204)
        assert _row(db, groups, gid) == ("entra", "onelogin")
        # Bulk through a provider URL.
        bulk = client.post(
            "/jumpcloud/Bulk",
            {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                "Operations": [
                    {
                        "method": "POST",
                        "path": "/Users",
                        "bulkId": "u1",
                        "data": {"schemas": [USER_URN], "userName": "linus"},
                    },
                    {
                        "method": "PATCH",
                        "path": f"/Groups/{gid}",
                        "data": patch_body(replace_op | {"path": "displayName", "value": "ops2"}),
                    },
                ],
            },
        )
        assert_status(bulk, 200)
        results = bulk.json["Operations"]
        assert [r["status"] for r in results] == ["201", "200"], results
        assert results[0]["location"].startswith(f"{live_server.base_url}/jumpcloud/Users/")
        new_id = results[0]["location"].rsplit("/", 1)[1]
    assert _row(db, users, new_id) == ("jumpcloud", "jumpcloud")
    assert _row(db, groups, gid) == ("entra", "jumpcloud")


def test_a_provider_bound_token_is_refused_elsewhere(
    live_server: LiveServer, live_db: LiveDb
) -> None:
    db, _ = live_db
    token, _ = _issue(db, provider="okta")
    with live_server.client(token) as client:
        assert_status(client.get("/okta/Users"), 200)
        assert_status(client.get("/OKTA/Users"), 200)
        assert_status(client.post("/okta/Users", {"schemas": [USER_URN], "userName": "b"}), 201)
        assert_error(client.get("/entra/Users"), 401)
        assert_error(client.get("/Users"), 401)
        assert_error(client.get("/ServiceProviderConfig"), 401)
    with ScimClient(live_server.other_base_url, token) as wrong_tenant:
        assert_error(wrong_tenant.get("/okta/Users"), 401)


# -- usage ---------------------------------------------------------------------------------


def _usage(db: Database, token_id: str) -> tuple[int, datetime | None]:
    with db.read() as conn:
        row = conn.execute(
            select(tokens.c.use_count, tokens.c.last_used_at).where(tokens.c.id == token_id)
        ).one()
    return row.use_count, row.last_used_at


def test_usage_is_written_at_shutdown_not_per_request(live_db: LiveDb, database_url: str) -> None:
    db, tenants = live_db
    _, token = tenants["acme"]
    token_id = _token_id(db, token)
    settings = Settings(database_url=database_url, token_usage_flush_seconds=3600)
    before = datetime.now(UTC)
    with TestClient(create_app(settings, db)) as client:  # runs the lifespan
        for _ in range(5):
            ok = client.get("/scim/v2/acme/Users", headers={"Authorization": f"Bearer {token}"})
            assert ok.status_code == 200
        bad = client.get("/scim/v2/acme/Users", headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401
        assert _usage(db, token_id) == (0, None)  # counted in memory only
        assert client.app.state.usage.pending() == {token_id: 5}  # type: ignore[attr-defined]
    count, last_used = _usage(db, token_id)
    assert count == 5 and last_used is not None and last_used >= before


def test_usage_is_flushed_periodically(live_db: LiveDb, database_url: str) -> None:
    db, tenants = live_db
    _, token = tenants["acme"]
    token_id = _token_id(db, token)
    settings = Settings(database_url=database_url, token_usage_flush_seconds=0.1)
    with TestClient(create_app(settings, db)) as client:
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get("/scim/v2/acme/okta/Users", headers=headers).status_code == 200
        deadline = time.monotonic() + 10
        while _usage(db, token_id)[0] != 1:
            assert time.monotonic() < deadline, "usage was not flushed while running"
            time.sleep(0.05)


def test_a_token_created_by_the_storage_step_is_still_gated(
    live_server: LiveServer, live_db: LiveDb
) -> None:
    """`create_token` (no gate) makes a token, but the server still refuses while a gate
    is closed: the gates are checked per request, not only when issuing."""
    db, _ = live_db
    _update(status="suspended")(db, live_server.tenant_id)
    with db.write() as conn:
        token = create_token(conn, live_server.tenant_id)
    with live_server.client(token) as client:
        assert "tenant_suspended" in assert_error(client.get("/Users"), 403)["detail"]
