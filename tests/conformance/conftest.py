"""Fixtures of the conformance suite: a real uvicorn server on 127.0.0.1 against a fresh,
migrated database (SQLite and PostgreSQL, through `tests/conftest.py`'s `database_url`),
with two tenants and a token for each."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pytest
import uvicorn
from conformance_support import LiveServer

from scimhub.db.engine import Database
from scimhub.settings import Settings

TENANT_A = "acme"
TENANT_B = "globex"


def _free_socket() -> socket.socket:
    # The server gets the bound socket itself: no window for another process to take
    # the port between choosing it and listening on it.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.set_inheritable(True)
    return sock


@contextmanager
def run_server(settings: Settings, db: Database) -> Iterator[str]:
    """A uvicorn server in a background thread; yields its root URL, stops it cleanly."""
    from scimhub.web.app import create_app

    sock = _free_socket()
    port = sock.getsockname()[1]
    app = create_app(replace(settings, host="127.0.0.1", port=port), db)
    config = uvicorn.Config(
        app=app, log_level="warning", lifespan="off", access_log=False, timeout_graceful_shutdown=5
    )
    server = uvicorn.Server(config)
    errors: list[BaseException] = []

    def _run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # reported by the fixture, not lost in the thread
            errors.append(exc)

    thread = threading.Thread(target=_run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if errors or not thread.is_alive():
            raise RuntimeError(f"uvicorn did not start: {errors!r}")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("uvicorn did not start within 20 s")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
        assert not thread.is_alive(), "uvicorn did not stop within 15 s"
        assert not errors, f"uvicorn failed: {errors!r}"


def _backend(url: str) -> str:
    return "postgresql" if url.startswith("postgres") else "sqlite"


@pytest.fixture
def live_db(database_url: str) -> Iterator[tuple[Database, dict[str, Any]]]:
    """The migrated database with tenants `acme` and `globex` and a token for each; both
    pass every SCIM gate (their SSO connection is active)."""
    # Imported here so that the suite's server-less tests run whatever state these are in.
    from scimhub.tenancy.sso import set_connection, set_state
    from scimhub.tenancy.tenants import create_tenant
    from scimhub.tenancy.tokens import create_token

    # `database_url` (tests/conftest.py) is a fresh database, already migrated.
    db = Database(database_url)
    tenants: dict[str, Any] = {}
    with db.write() as conn:
        for slug in (TENANT_A, TENANT_B):
            tenant = create_tenant(conn, slug, name=slug.title())
            set_connection(conn, tenant.id, protocol="oidc", idp_id=f"https://{slug}.example.com")
            set_state(conn, tenant.id, "active")
            tenants[slug] = (tenant.id, create_token(conn, tenant.id))
    try:
        yield db, tenants
    finally:
        db.dispose()


@pytest.fixture
def live_server_factory(
    live_db: tuple[Database, dict[str, Any]], database_url: str
) -> Iterator[Callable[..., LiveServer]]:
    """Starts servers on the test's database, one per call, each with its own Settings
    overrides (e.g. `max_page_size=5`); all are stopped at teardown."""
    db, tenants = live_db
    stack: list[Any] = []

    def start(**overrides: Any) -> LiveServer:
        settings = Settings(database_url=database_url, **overrides)
        cm = run_server(settings, db)
        root = cm.__enter__()
        stack.append(cm)
        (a_id, a_token), (b_id, b_token) = tenants[TENANT_A], tenants[TENANT_B]
        return LiveServer(
            root=root,
            base_url=f"{root}/scim/v2/{TENANT_A}",
            token=a_token,
            tenant_id=a_id,
            other_base_url=f"{root}/scim/v2/{TENANT_B}",
            other_token=b_token,
            other_tenant_id=b_id,
            database_url=database_url,
            backend=_backend(database_url),
        )

    try:
        yield start
    finally:
        while stack:
            stack.pop().__exit__(None, None, None)


@pytest.fixture
def live_server(live_server_factory: Callable[..., LiveServer]) -> LiveServer:
    """scimhub with default settings, serving tenants `acme` and `globex`."""
    return live_server_factory()
