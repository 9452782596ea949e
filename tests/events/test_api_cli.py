"""`scimhub webhook add` as a real process; in-process subscribers; `scimhub serve`
running the embedded worker."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import httpx
import pytest

from scimhub.db.engine import Database
from scimhub.events import subscribe, unsubscribe
from scimhub.events.endpoints import add_endpoint, list_endpoints
from scimhub.events.worker import Worker
from scimhub.settings import Settings
from scimhub.tenancy.tenants import Tenant
from scimhub.tenancy.tokens import create_token

from .conftest import directory
from .receiver import Receiver

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"


def test_cli_webhook_add_as_a_process(db: Database, tenant: Tenant, database_url: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "scimhub", "webhook", "add", "--tenant", "acme",
         "--url", "https://app.example.com/hooks/scim", "--events", "user.created,user.deactivated",
         "--json", "--database-url", database_url],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert printed["secret"].startswith("whsec_")
    with db.read() as conn:
        (endpoint,) = list_endpoints(conn, tenant.id)
    assert printed["id"] == endpoint.id and printed["secret"] == endpoint.secret
    assert endpoint.event_types == ("user.created", "user.deactivated")
    bad = subprocess.run(
        [sys.executable, "-m", "scimhub", "webhook", "add", "--tenant", "acme", "--url",
         "https://x.test", "--events", "user.renamed", "--json", "--database-url", database_url],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert bad.returncode == 1 and "unknown event type" in bad.stderr and bad.stdout == ""
    nobody = subprocess.run(
        [sys.executable, "-m", "scimhub", "webhook", "add", "--tenant", "nosuch", "--url",
         "https://x.test", "--json", "--database-url", database_url],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert nobody.returncode == 1 and "no tenant 'nosuch'" in nobody.stderr


@pytest.fixture
def collected() -> Iterator[list[dict[str, Any]]]:
    got: list[dict[str, Any]] = []
    yield got


def test_in_process_subscribers_at_least_once(
    db: Database, tenant: Tenant, settings: Settings, collected: list[dict[str, Any]]
) -> None:
    failures = {"left": 1}

    def on_event(event: dict[str, Any]) -> None:
        if event["type"] == "user.deactivated" and failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("the app is busy")
        collected.append(event)

    sub = subscribe(on_event, types=["user.created", "user.deactivated"], name="test-sub")
    try:
        worker = Worker(settings, db)
        try:
            worker.run_once()  # the subscriber's cursor starts at the current end
            d = directory(db, settings, tenant.id)
            uid = d.create_user("ada@example.com")
            d.patch_user(uid, {"op": "replace", "path": "title", "value": "x"})
            d.set_active(uid, False)
            deadline = time.monotonic() + 10
            while len(collected) < 2 and time.monotonic() < deadline:
                worker.run_once(wait_seconds=0.02)
        finally:
            worker.close()
    finally:
        unsubscribe(sub)
    assert [e["type"] for e in collected] == ["user.created", "user.deactivated"]
    assert failures["left"] == 0  # it failed once and was offered the event again
    assert collected[0]["sequence"] < collected[1]["sequence"]


def test_scimhub_serve_runs_the_worker(
    db: Database,
    tenant: Tenant,
    database_url: str,
    receiver: Receiver,
    serve_process: Callable[..., AbstractContextManager[str]],
) -> None:
    """`scimhub serve` starts the embedded worker: a deactivation PATCH reaches the
    receiver with no other process running."""
    with db.write() as conn:
        add_endpoint(conn, tenant.id, receiver.url)
        token = create_token(conn, tenant.id)
    with serve_process(database_url, env={"SCIMHUB_WORKER_POLL_SECONDS": "0.05"}) as root:
        auth = {"Authorization": f"Bearer {token}"}
        created = httpx.post(
            f"{root}/scim/v2/acme/Users",
            headers=auth,
            json={"schemas": [USER_SCHEMA], "userName": "ada@example.com"},
        )
        assert created.status_code == 201
        patched = httpx.patch(
            f"{root}/scim/v2/acme/Users/{created.json()['id']}",
            headers=auth,
            json={
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "active", "value": False}],
            },
        )
        assert patched.status_code == 200
        got = receiver.wait_for(2, timeout=15)
    assert [r.event["type"] for r in got] == ["user.created", "user.deactivated"]
