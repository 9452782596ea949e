"""Webhook delivery: claiming due deliveries under a lease, one HTTP attempt each,
recording the attempt, retrying with exponential backoff and jitter, dead letters and
replay.

- At least once: a delivery is `delivered` only after a 2xx; a worker killed mid-attempt
  leaves a lease that expires (`worker_lease_seconds`), and the delivery is claimed again.
- Never twice at once: a claim takes rows with `FOR UPDATE SKIP LOCKED` on PostgreSQL
  (under SQLite's single write lock elsewhere) and leases them to one worker; a second
  worker skips locked and leased rows.
- Ordered per resource and endpoint: only the oldest pending delivery of its (endpoint,
  resource) chain is claimable, so event n+1 of a user waits until n is delivered (or
  dead-lettered).
- One endpoint cannot hold up another: a failed delivery waits out its backoff without
  holding a slot, each attempt has a timeout, and a worker keeps at most
  `webhook_endpoint_concurrency` attempts in flight per endpoint."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    exists,
    insert,
    or_,
    select,
    update,
)

from scimhub.db.engine import Database
from scimhub.db.prepared import Prepared
from scimhub.db.tables import UTCDateTime, deliveries, delivery_attempts, events, webhook_endpoints
from scimhub.events import signing
from scimhub.settings import Settings
from scimhub.tenancy.errors import Conflict, NotFound

_older = deliveries.alias("older")
_now = bindparam("now", type_=UTCDateTime())

_DUE = (
    select(deliveries.c.id, deliveries.c.endpoint_id)
    .where(
        deliveries.c.status == "pending",
        deliveries.c.next_attempt_at <= _now,
        or_(deliveries.c.lease_until.is_(None), deliveries.c.lease_until < _now),
        ~exists().where(
            _older.c.endpoint_id == deliveries.c.endpoint_id,
            _older.c.resource_key == deliveries.c.resource_key,
            _older.c.status == "pending",
            _older.c.feed_seq < deliveries.c.feed_seq,
        ),
    )
    .order_by(deliveries.c.next_attempt_at, deliveries.c.feed_seq)
    .limit(bindparam("limit"))
)
_DUE_LOCKED = _DUE.with_for_update(skip_locked=True, of=deliveries)
# The worker asks on every round: straight to the driver (db/prepared.py).
_DUE_NOW = Prepared(_DUE)

_LEASE = (
    update(deliveries)
    .where(deliveries.c.id == bindparam("b_id"))
    .values(
        lease_owner=bindparam("b_owner"),
        lease_until=bindparam("b_until", type_=UTCDateTime()),
        attempts=deliveries.c.attempts + 1,
    )
)

_CLAIMED = (
    select(
        deliveries.c.id,
        deliveries.c.endpoint_id,
        deliveries.c.attempts,
        deliveries.c.feed_seq,
        events.c.id.label("event_id"),
        events.c.payload,
        webhook_endpoints.c.url,
        webhook_endpoints.c.secret,
    )
    .select_from(
        deliveries.join(events, events.c.seq == deliveries.c.event_seq).join(
            webhook_endpoints, webhook_endpoints.c.id == deliveries.c.endpoint_id
        )
    )
    .where(deliveries.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(deliveries.c.feed_seq)
)

_LOG_ATTEMPT = insert(delivery_attempts)
_mine = and_(deliveries.c.id == bindparam("b_id"), deliveries.c.lease_owner == bindparam("b_owner"))
_DELIVERED = (
    update(deliveries)
    .where(_mine)
    .values(
        status="delivered",
        delivered_at=bindparam("b_at", type_=UTCDateTime()),
        lease_owner=None,
        lease_until=None,
        last_error=None,
    )
)
_FAILED = (
    update(deliveries)
    .where(_mine)
    .values(
        status=bindparam("b_status"),
        next_attempt_at=bindparam("b_next", type_=UTCDateTime()),
        lease_owner=None,
        lease_until=None,
        last_error=bindparam("b_error"),
    )
)


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    endpoint_id: str
    attempt: int
    url: str
    secret: str
    event_id: str
    body: bytes


@dataclass(frozen=True, slots=True)
class Outcome:
    claimed: Claimed
    at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def backoff(attempt: int, settings: Settings, rng: random.Random | None = None) -> float:
    """Seconds before retry `attempt + 1`: base * 2^(attempt-1), capped, with "full
    jitter" on its upper half (so retries of many deliveries spread out, but a retry is
    never sooner than half the nominal wait)."""
    nominal = min(
        settings.webhook_backoff_max_seconds,
        settings.webhook_backoff_base_seconds * float(1 << min(max(0, attempt - 1), 40)),
    )
    jitter: float = (rng or random).uniform(0, nominal / 2)
    return nominal / 2 + jitter


def claim(
    db: Database, owner: str, limit: int, settings: Settings, *, skip: Mapping[str, int]
) -> list[Claimed]:
    """Leases up to `limit` due deliveries to `owner`. `skip` maps endpoint ids to how
    many more this worker may take for them (absent: `webhook_endpoint_concurrency`)."""
    if limit <= 0:
        return []
    now = datetime.now(UTC)
    with db.read() as conn:  # nothing due: no write transaction
        if _DUE_NOW.first(conn, {"now": now, "limit": 1}) is None:
            return []
    statement = _DUE_LOCKED if db.dialect == "postgresql" else _DUE
    until = now + timedelta(seconds=settings.worker_lease_seconds)
    with db.write() as conn:
        rows = conn.execute(statement, {"now": now, "limit": limit * 4}).all()
        room = dict(skip)
        chosen: list[int] = []
        for row in rows:
            left = room.get(row.endpoint_id, settings.webhook_endpoint_concurrency)
            if left <= 0:
                continue
            room[row.endpoint_id] = left - 1
            chosen.append(row.id)
            if len(chosen) >= limit:
                break
        if not chosen:
            return []
        conn.execute(_LEASE, [{"b_id": i, "b_owner": owner, "b_until": until} for i in chosen])
        found = conn.execute(_CLAIMED, {"ids": chosen}).all()
    return [
        Claimed(
            id=r.id,
            endpoint_id=r.endpoint_id,
            attempt=r.attempts,
            url=r.url,
            secret=r.secret,
            event_id=r.event_id,
            body=json.dumps(
                {**r.payload, "sequence": r.feed_seq}, separators=(",", ":"), ensure_ascii=False
            ).encode(),
        )
        for r in found
    ]


def attempt(client: httpx.Client, claimed: Claimed) -> Outcome:
    """One POST, signed per Standard Webhooks. Any response is an outcome; so is no
    response (timeout, refused connection), with its error."""
    at = datetime.now(UTC)
    headers = signing.headers(claimed.secret, claimed.event_id, int(time.time()), claimed.body)
    headers["content-type"] = "application/json"
    headers["user-agent"] = "scimhub-webhooks"
    # Not part of the convention; lets a receiver tell a retry from a first attempt.
    headers["scimhub-attempt"] = str(claimed.attempt)
    started = time.perf_counter()
    status: int | None = None
    error: str | None = None
    try:
        response = client.post(claimed.url, content=claimed.body, headers=headers)
        status = response.status_code
        if not 200 <= status < 300:
            error = f"HTTP {status}: {response.text[:200]}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    latency = int((time.perf_counter() - started) * 1000)
    return Outcome(claimed, at, status, latency, error)


def record(db: Database, owner: str, outcomes: list[Outcome], settings: Settings) -> None:
    """Logs each attempt and moves each delivery on, in one short transaction. A
    delivery whose lease this worker lost (it expired and another worker took it) keeps
    the other worker's state; its attempt is still logged."""
    if not outcomes:
        return
    now = datetime.now(UTC)
    log = [
        {
            "delivery_id": o.claimed.id,
            "endpoint_id": o.claimed.endpoint_id,
            "attempt": o.claimed.attempt,
            "attempted_at": o.at,
            "status_code": o.status_code,
            "latency_ms": o.latency_ms,
            "error": o.error,
            "worker": owner,
        }
        for o in outcomes
    ]
    done = [{"b_id": o.claimed.id, "b_owner": owner, "b_at": now} for o in outcomes if o.ok]
    failed = []
    for o in outcomes:
        if o.ok:
            continue
        dead = o.claimed.attempt >= settings.webhook_max_attempts
        wait = backoff(o.claimed.attempt, settings)
        failed.append(
            {
                "b_id": o.claimed.id,
                "b_owner": owner,
                "b_status": "dead" if dead else "pending",
                "b_next": now + timedelta(seconds=wait),
                "b_error": o.error,
            }
        )
    with db.write() as conn:
        conn.execute(_LOG_ATTEMPT, log)
        if done:
            conn.execute(_DELIVERED, done)
        if failed:
            conn.execute(_FAILED, failed)


# -- admin: the log, dead letters, replay ------------------------------------------------


def delivery_log(
    conn: Connection, endpoint_id: str, *, before: int | None, limit: int
) -> list[dict[str, Any]]:
    """The endpoint's attempts, newest first (`before`: an attempt id, for paging)."""
    q = (
        select(
            delivery_attempts,
            events.c.id.label("event_id"),
            events.c.type.label("event_type"),
            deliveries.c.status.label("delivery_status"),
        )
        .select_from(
            delivery_attempts.join(
                deliveries, deliveries.c.id == delivery_attempts.c.delivery_id
            ).join(events, events.c.seq == deliveries.c.event_seq)
        )
        .where(delivery_attempts.c.endpoint_id == endpoint_id)
        .order_by(delivery_attempts.c.id.desc())
        .limit(limit)
    )
    if before is not None:
        q = q.where(delivery_attempts.c.id < before)
    return [dict(r._mapping) for r in conn.execute(q)]


def list_deliveries(
    conn: Connection, endpoint_id: str, *, status: str | None, after: int | None, limit: int
) -> list[dict[str, Any]]:
    q = (
        select(
            deliveries.c.id,
            deliveries.c.status,
            deliveries.c.attempts,
            deliveries.c.next_attempt_at,
            deliveries.c.last_error,
            deliveries.c.created_at,
            deliveries.c.delivered_at,
            deliveries.c.feed_seq,
            events.c.id.label("event_id"),
            events.c.type.label("event_type"),
        )
        .select_from(deliveries.join(events, events.c.seq == deliveries.c.event_seq))
        .where(deliveries.c.endpoint_id == endpoint_id)
        .order_by(deliveries.c.id)
        .limit(limit)
    )
    if status is not None:
        q = q.where(deliveries.c.status == status)
    if after is not None:
        q = q.where(deliveries.c.id > after)
    return [dict(r._mapping) for r in conn.execute(q)]


def replay(conn: Connection, endpoint_id: str, delivery_id: int) -> None:
    """Queues a dead-lettered (or delivered) delivery again, from attempt 1. NotFound;
    Conflict while it is still pending."""
    row = conn.execute(
        select(deliveries.c.status).where(
            deliveries.c.id == delivery_id, deliveries.c.endpoint_id == endpoint_id
        )
    ).first()
    if row is None:
        raise NotFound(f"no delivery {delivery_id} for this endpoint", code="delivery_not_found")
    if row.status == "pending":
        raise Conflict("the delivery is still pending", code="delivery_pending")
    _requeue(conn, (deliveries.c.id == delivery_id))


def replay_dead(conn: Connection, endpoint_id: str) -> int:
    """Queues every dead-lettered delivery of the endpoint again; returns how many."""
    return _requeue(
        conn, and_(deliveries.c.endpoint_id == endpoint_id, deliveries.c.status == "dead")
    )


def _requeue(conn: Connection, where: Any) -> int:
    return conn.execute(
        update(deliveries)
        .where(where)
        .values(
            status="pending",
            attempts=0,
            next_attempt_at=datetime.now(UTC),
            lease_owner=None,
            lease_until=None,
            delivered_at=None,
        )
    ).rowcount
