"""Where a SCIM request runs (web/scim.py): on SQLite a small write runs on the event
loop's own thread (SQLite takes one writer at a time, so a worker thread buys nothing
but the hop); reads, bulk requests and large bodies run on the thread pool, and so does
everything on PostgreSQL. Checked on a live server, on both backends."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from conformance_support import BULK_REQUEST_URN, USER_URN, LiveServer, assert_status
from sqlalchemy import Connection

from scimhub.db.engine import Database
from scimhub.web.scim import INLINE_WRITE_MAX_BYTES


@pytest.fixture
def threads_of_requests(
    live_db: tuple[Database, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> list[str]:
    """The name of the thread each SCIM request transaction runs on, in order."""
    db, _ = live_db
    names: list[str] = []
    real = db.request

    @contextmanager
    def request(*, write: bool) -> Iterator[Connection]:
        names.append(threading.current_thread().name)
        with real(write=write) as conn:
            yield conn

    monkeypatch.setattr(db, "request", request)
    return names


def test_small_writes_run_inline_on_sqlite_only(
    live_server_factory: Callable[..., LiveServer], threads_of_requests: list[str]
) -> None:
    server = live_server_factory()
    loop_thread = f"uvicorn-{server.root.rsplit(':', 1)[1]}"
    with server.client() as c:
        created = c.post("/Users", {"schemas": [USER_URN], "userName": "inline@example.com"})
        assert_status(created, 201)
        user_id = created.json["id"]
        assert_status(c.get(f"/Users/{user_id}"), 200)
        patch = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "active", "value": False}],
        }
        assert_status(c.patch(f"/Users/{user_id}", patch), 200)
        large = {
            "schemas": [USER_URN],
            "userName": "large@example.com",
            "nickName": "x" * (INLINE_WRITE_MAX_BYTES + 1),
        }
        assert_status(c.post("/Users", large), 201)
        assert_status(c.delete(f"/Users/{user_id}"), 204)
    inline = server.backend == "sqlite"
    expected = [inline, False, inline, False, inline]  # POST, GET, PATCH, large POST, DELETE
    assert len(threads_of_requests) == len(expected)
    assert [name == loop_thread for name in threads_of_requests] == expected


def test_bulk_runs_on_the_thread_pool(
    live_server_factory: Callable[..., LiveServer], live_db: tuple[Database, dict[str, Any]]
) -> None:
    db, _ = live_db
    server = live_server_factory()
    seen: list[str] = []
    real = db.write

    @contextmanager
    def write() -> Iterator[Connection]:
        seen.append(threading.current_thread().name)
        with real() as conn:
            yield conn

    loop_thread = f"uvicorn-{server.root.rsplit(':', 1)[1]}"
    body = {
        "schemas": [BULK_REQUEST_URN],
        "Operations": [
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "a",
                "data": {"schemas": [USER_URN], "userName": "bulk@example.com"},
            }
        ],
    }
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(db, "write", write)
        with server.client() as c:
            assert_status(c.post("/Bulk", body), 200)
    assert seen
    assert loop_thread not in seen
