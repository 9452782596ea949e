"""Under a steady stream of writes the worker publishes events in batches: after a round
that published less than a full batch it lingers (`LINGER_SECONDS`) before the next, so
a round's transactions are shared by every event written meanwhile (events/worker.py)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from scimhub.db.engine import Database
from scimhub.db.tables import events
from scimhub.events import worker as worker_module
from scimhub.events.endpoints import add_endpoint
from scimhub.events.worker import LINGER_SECONDS, Worker
from scimhub.tenancy.tenants import Tenant

from .conftest import directory, fast_settings
from .receiver import Receiver


def test_a_stream_of_writes_is_published_in_batches(
    db: Database, tenant: Tenant, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = fast_settings(database_url, worker_poll_seconds=0.1)
    people = directory(db, settings, tenant.id)
    rounds: list[int] = []
    real_dispatch = worker_module.dispatch

    def counted(*args: object) -> int:
        published = real_dispatch(*args)  # type: ignore[arg-type]
        if published:
            rounds.append(published)
        return published

    monkeypatch.setattr(worker_module, "dispatch", counted)
    worker = Worker(settings, db, name="batching")
    writes = 150
    try:
        started = time.monotonic()
        for n in range(writes):  # a steady stream: there is always something to publish
            people.create_user(f"stream{n}@example.com")
            time.sleep(0.002)  # room for the worker's thread between writes
            if n == 4:  # the worker's first round finds work
                worker.start()
        deadline = time.monotonic() + 10
        while sum(rounds) < writes and time.monotonic() < deadline:
            time.sleep(0.01)
        elapsed = time.monotonic() - started
    finally:
        worker.stop()
    assert sum(rounds) == writes
    with db.read() as conn:
        unpublished = conn.execute(
            select(func.count()).select_from(events).where(events.c.feed_seq.is_(None))
        ).scalar()
    assert unpublished == 0
    # Back to back, every write would have been a round of its own; lingering, there is
    # at most one publishing round per LINGER_SECONDS (and one to start).
    assert len(rounds) <= elapsed / LINGER_SECONDS + 1


def test_the_worker_lingers_only_when_nothing_else_is_due(
    db: Database, tenant: Tenant, database_url: str, receiver: Receiver
) -> None:
    # Lingering after a round that started deliveries capped an endpoint at one claim
    # (8 deliveries) per LINGER_SECONDS: webhooks fell seconds behind at 100 writes/s.
    settings = fast_settings(database_url)
    people = directory(db, settings, tenant.id)
    worker = Worker(settings, db, name="linger")
    try:
        people.create_user("quiet@example.com")
        assert worker.run_once() is True
        assert worker._linger is True  # published, nothing to deliver
        with db.write() as conn:
            add_endpoint(conn, tenant.id, receiver.url)
        people.create_user("hooked@example.com")
        assert worker.run_once() is True
        assert worker.inflight or receiver.received  # a delivery started
        assert worker._linger is False
        worker.drain()
        assert [r.event["type"] for r in receiver.received] == ["user.created"]
    finally:
        worker.stop()
