"""`scimhub worker` as real processes: two racing on one PostgreSQL never deliver the
same attempt twice; a killed worker's delivery is delivered by another."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import select

from scimhub.db.engine import Database
from scimhub.db.tables import deliveries, delivery_attempts
from scimhub.events.endpoints import add_endpoint
from scimhub.settings import Settings
from scimhub.tenancy.tenants import Tenant

from .conftest import directory
from .receiver import Received, Receiver


@contextmanager
def worker_process(database_url: str, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "scimhub", "worker", "--database-url", database_url],
        env={
            **os.environ,
            "SCIMHUB_WORKER_POLL_SECONDS": "0.02",
            "SCIMHUB_WEBHOOK_BACKOFF_BASE_SECONDS": "0.05",
            **env,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_workers_never_deliver_the_same_attempt_twice(
    db: Database, tenant: Tenant, settings: Settings, database_url: str
) -> None:
    # Each worker has at most 8 attempts in flight per endpoint; at 50 ms an attempt,
    # one worker alone would need about a second, so both take part.
    receiver = Receiver(delay=0.05).start()
    try:
        with db.write() as conn:
            add_endpoint(conn, tenant.id, receiver.url)
        d = directory(db, settings, tenant.id)
        with worker_process(database_url) as a, worker_process(database_url) as b:
            for process in (a, b):  # both running before there is any work
                assert process.stdout is not None
                assert b"started" in process.stdout.readline()
            for i in range(150):
                d.create_user(f"u{i}@example.com")
            receiver.wait_for(150, timeout=60)
            time.sleep(0.5)  # anything delivered twice would arrive by now
        ids = Counter(r.headers["webhook-id"] for r in receiver.received)
        assert len(ids) == 150
        assert max(ids.values()) == 1, [k for k, n in ids.items() if n > 1]
        with db.read() as conn:
            workers = set(conn.execute(select(delivery_attempts.c.worker)).scalars())
            attempts = conn.execute(select(delivery_attempts.c.delivery_id)).scalars().all()
            statuses = set(conn.execute(select(deliveries.c.status)).scalars())
        assert len(workers) == 2  # both took part
        assert len(attempts) == len(set(attempts)) == 150
        assert statuses == {"delivered"}
    finally:
        receiver.stop()


def test_a_killed_worker_redelivers(
    db: Database, tenant: Tenant, settings: Settings, database_url: str
) -> None:
    """Worker A takes the delivery and is killed (SIGKILL) while the endpoint is still
    answering; worker B delivers it once A's lease expires."""
    first_seen = threading.Event()
    release = threading.Event()

    def hook(got: Received) -> int | None:
        if not first_seen.is_set():
            first_seen.set()
            release.wait(10)  # A dies while this request is open
            return 500
        return 200

    receiver = Receiver(hook=hook).start()
    try:
        with db.write() as conn:
            add_endpoint(conn, tenant.id, receiver.url)
        d = directory(db, settings, tenant.id)
        uid = d.create_user("ada@example.com")
        d.set_active(uid, False)
        lease = {"SCIMHUB_WORKER_LEASE_SECONDS": "2"}
        with worker_process(database_url, **lease) as a:
            assert first_seen.wait(30), "worker A never attempted the delivery"
            os.killpg(a.pid, signal.SIGKILL)
            a.wait(10)
        release.set()
        killed_at = time.monotonic()
        with worker_process(database_url, **lease):
            got = receiver.wait_for(3, timeout=30)
        # The same event again (same webhook-id), then the next one, in order.
        assert got[0].headers["webhook-id"] == got[1].headers["webhook-id"]
        assert [r.event["type"] for r in got[1:3]] == ["user.created", "user.deactivated"]
        assert got[1].at - got[0].at >= 1.0  # not before A's lease ran out
        assert time.monotonic() - killed_at < 30
        with db.read() as conn:
            statuses = conn.execute(select(deliveries.c.status)).scalars().all()
        assert statuses == ["delivered", "delivered"]
    finally:
        release.set()
        receiver.stop()
