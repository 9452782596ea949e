"""Webhook delivery against real HTTP receivers: signatures a standard verifier accepts,
retries in order, dead letters and replay, the delivery log, isolation between tenants."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import standardwebhooks
from sqlalchemy import select

from scimhub.db.engine import Database
from scimhub.db.tables import deliveries
from scimhub.events.delivery import delivery_log, list_deliveries, replay_dead
from scimhub.events.endpoints import add_endpoint
from scimhub.events.worker import Worker
from scimhub.settings import Settings
from scimhub.tenancy.tenants import Tenant

from .conftest import directory, fast_settings
from .receiver import Receiver


def _run_until(worker: Worker, done: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        worker.run_once(wait_seconds=0.02)
        if callable(done) and done():
            return
    raise AssertionError("timed out")


def test_signatures_verify_with_standardwebhooks(
    db: Database, tenant: Tenant, settings: Settings, receiver: Receiver, worker: Worker
) -> None:
    with db.write() as conn:
        endpoint = add_endpoint(conn, tenant.id, receiver.url)
    assert endpoint.secret.startswith("whsec_")
    d = directory(db, settings, tenant.id)
    uid = d.create_user("ada@example.com")
    d.set_active(uid, False)
    _run_until(worker, lambda: len(receiver.received) >= 2)
    verifier = standardwebhooks.Webhook(endpoint.secret)
    for got in receiver.received:
        payload = verifier.verify(got.body, got.headers)
        assert payload["id"] == got.headers["webhook-id"]
    assert [r.event["type"] for r in receiver.received] == ["user.created", "user.deactivated"]
    # A tampered body, or another endpoint's secret, does not verify.
    first = receiver.received[0]
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        verifier.verify(first.body.replace(b"ada", b"eve"), first.headers)
    with db.write() as conn:
        other = add_endpoint(conn, tenant.id, receiver.url)
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(other.secret).verify(first.body, first.headers)


def test_the_event_filter(
    db: Database, tenant: Tenant, settings: Settings, receiver: Receiver, worker: Worker
) -> None:
    with db.write() as conn:
        add_endpoint(conn, tenant.id, receiver.url, event_types=["user.deactivated"])
    d = directory(db, settings, tenant.id)
    for i in range(3):
        uid = d.create_user(f"u{i}@example.com")
    d.set_active(uid, False)
    _run_until(worker, lambda: len(receiver.received) >= 1)
    worker.drain()
    assert [r.event["type"] for r in receiver.received] == ["user.deactivated"]


def test_an_endpoint_that_fails_then_recovers_gets_every_event_in_order(
    db: Database, tenant: Tenant, settings: Settings, receiver: Receiver, worker: Worker
) -> None:
    receiver.status = 503
    with db.write() as conn:
        endpoint = add_endpoint(conn, tenant.id, receiver.url)
    d = directory(db, settings, tenant.id)
    uid = d.create_user("ada@example.com")
    for title in ("a", "b", "c", "d"):
        d.patch_user(uid, {"op": "replace", "path": "title", "value": title})
    d.set_active(uid, False)
    # Several failed attempts of the first event, none of the later ones (ordered).
    _run_until(worker, lambda: len(receiver.received) >= 3)
    assert {r.event["type"] for r in receiver.received} == {"user.created"}
    receiver.status = 200

    def all_ok() -> bool:
        return len({r.headers["webhook-id"] for r in receiver.received}) == 6 and _settled(db)

    _run_until(worker, all_ok)
    worker.drain()
    # What the endpoint accepted, in order (the failed attempts were all of event 1).
    accepted = _accepted(receiver)
    assert [e["type"] for e in accepted] == [
        "user.created",
        *["user.updated"] * 4,
        "user.deactivated",
    ]
    assert [e["changes"].get("title", {}).get("after") for e in accepted[1:5]] == list("abcd")
    seqs = [e["sequence"] for e in accepted]
    assert seqs == sorted(seqs)
    with db.read() as conn:
        log = delivery_log(conn, endpoint.id, before=None, limit=100)
    failures = [a for a in log if a["status_code"] == 503]
    assert len(failures) >= 3 and all(a["error"].startswith("HTTP 503") for a in failures)
    assert all(a["latency_ms"] >= 0 for a in log)
    assert sum(1 for a in log if a["status_code"] == 200) == 6


def _settled(db: Database) -> bool:
    with db.read() as conn:
        return (
            conn.execute(select(deliveries.c.id).where(deliveries.c.status == "pending")).first()
            is None
        )


def _accepted(receiver: Receiver) -> list[dict[str, object]]:
    """Events in the order the receiver first got them with a 2xx answer: the retried
    event's last attempt counts, its earlier failed ones do not."""
    seen: dict[str, dict[str, object]] = {}
    for got in receiver.received:
        seen[got.headers["webhook-id"]] = got.event
    return sorted(seen.values(), key=lambda e: int(str(e["sequence"])))


def test_dead_letter_and_replay(
    db: Database, tenant: Tenant, database_url: str, receiver: Receiver
) -> None:
    settings = fast_settings(database_url, webhook_max_attempts=3)
    worker = Worker(settings, db)
    try:
        receiver.status = 500
        with db.write() as conn:
            endpoint = add_endpoint(conn, tenant.id, receiver.url)
        d = directory(db, settings, tenant.id)
        d.create_user("ada@example.com")
        _run_until(worker, lambda: _settled(db))
        assert len(receiver.received) == 3  # max attempts, then dead
        with db.read() as conn:
            dead = list_deliveries(conn, endpoint.id, status="dead", after=None, limit=10)
        assert len(dead) == 1 and dead[0]["attempts"] == 3
        assert dead[0]["last_error"].startswith("HTTP 500")
        # A dead letter does not hold up the resource's later events.
        receiver.status = 200
        uid = d.create_user("bob@example.com")
        d.set_active(uid, False)
        _run_until(worker, lambda: len(receiver.received) >= 5)
        with db.write() as conn:
            assert replay_dead(conn, endpoint.id) == 1
        _run_until(worker, lambda: len(receiver.received) >= 6)
        assert receiver.received[-1].event["type"] == "user.created"
        assert receiver.received[-1].event["data"]["userName"] == "ada@example.com"
        with db.read() as conn:
            assert list_deliveries(conn, endpoint.id, status="dead", after=None, limit=10) == []
    finally:
        worker.stop()


@pytest.fixture
def hanging() -> Iterator[Receiver]:
    r = Receiver(delay=1.5, status=500).start()
    yield r
    r.stop()


def test_a_failing_tenant_does_not_slow_another(
    db: Database,
    tenant: Tenant,
    other_tenant: Tenant,
    settings: Settings,
    receiver: Receiver,
    hanging: Receiver,
    worker: Worker,
) -> None:
    """acme's endpoint answers 500 after 1.5 s, every time; globex's events still arrive
    at once, while acme has a backlog."""
    with db.write() as conn:
        add_endpoint(conn, tenant.id, hanging.url)
        add_endpoint(conn, other_tenant.id, receiver.url)
    acme, globex = directory(db, settings, tenant.id), directory(db, settings, other_tenant.id)
    for i in range(40):
        acme.create_user(f"a{i}@example.com")
    worker.start()
    time.sleep(0.3)  # acme's attempts are in flight
    latencies = []
    for i in range(10):
        written = time.time()
        globex.create_user(f"g{i}@example.com")
        got = receiver.wait_for(i + 1, timeout=5)
        latencies.append(got[-1].at - written)
    assert max(latencies) < 0.5, latencies
    assert len(hanging.received) >= 1
