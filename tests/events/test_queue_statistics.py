"""PostgreSQL plans the worker's claim query from statistics; the worker keeps them
fresh through a burst (events/worker.py, ANALYZE_EVERY_EVENTS)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from scimhub.db.engine import Database
from scimhub.events.endpoints import add_endpoint
from scimhub.events.worker import ANALYZE_EVERY_EVENTS, Worker
from scimhub.settings import Settings
from scimhub.tenancy.tenants import Tenant

from .conftest import directory
from .receiver import Receiver


def _analyzed(db: Database) -> bool:
    with db.read() as conn:
        found = conn.execute(
            text("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'deliveries'")
        ).scalar()
    return found is not None


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_burst_of_events_gets_the_queue_analyzed(
    db: Database, tenant: Tenant, settings: Settings, worker: Worker, receiver: Receiver
) -> None:
    with db.write() as conn:
        add_endpoint(conn, tenant.id, receiver.url)
    d = directory(db, settings, tenant.id)
    for i in range(ANALYZE_EVERY_EVENTS - 1):
        d.create_user(f"u{i}@example.com")
    worker.drain()
    assert not _analyzed(db)
    d.create_user("one-more@example.com")
    worker.drain()
    assert _analyzed(db)
    assert len(receiver.received) == ANALYZE_EVERY_EVENTS
