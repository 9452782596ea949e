"""The worker: publishes outbox events, delivers webhooks, sends email, feeds in-process
subscribers and applies retention.

It runs as a thread inside `scimhub serve` (the embedded default; `worker_in_serve`) and
as `scimhub worker` processes; any number may run against one database (see
events/delivery.py for why they never deliver the same attempt twice). Every database
step is a short transaction: the worker never holds SQLite's write lock while it waits
on the network. HTTP attempts run on a thread pool, at most `webhook_concurrency` at
once and `webhook_endpoint_concurrency` per endpoint."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

import httpx

from scimhub.db.engine import Database
from scimhub.events import delivery, email, retention
from scimhub.events.dispatch import BATCH, dispatch
from scimhub.events.subscribers import run_subscribers
from scimhub.settings import Settings

log = logging.getLogger("scimhub.worker")

RETENTION_EVERY_SECONDS = 3600.0
# PostgreSQL plans the claim query from table statistics. A queue that fills faster
# than autovacuum analyzes it (a provisioning burst) is planned as if nearly empty: a
# nested-loop anti-join over every pending row, 0.5 s per claim at 1,500 pending rows
# against 3 ms once analyzed. The worker analyzes the queue tables itself after this
# many new events (docs/benchmarks.md, "Deactivation → webhook latency").
ANALYZE_EVERY_EVENTS = 200
# After a round that only published less than a full batch (no delivery, email or
# subscriber due), the worker waits this long before the next one, so that events
# written meanwhile are published together. A round costs a few transactions whatever
# it publishes: run back to back under a steady stream of writes, rounds published one
# or two events each and took 0.2-0.4 ms of the server's CPU per SCIM write. With
# webhooks to deliver the worker does not linger (each round then claims the new
# deliveries; lingering there capped an endpoint at 8 deliveries per 50 ms).
LINGER_SECONDS = 0.05


class Worker:
    def __init__(self, settings: Settings, db: Database, *, name: str | None = None) -> None:
        self.settings = settings
        self.db = db
        # Recorded on leases and in the delivery log.
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.client = httpx.Client(
            timeout=httpx.Timeout(settings.webhook_timeout_seconds),
            follow_redirects=False,
            limits=httpx.Limits(max_connections=max(settings.webhook_concurrency, 1) * 2),
        )
        self.pool = ThreadPoolExecutor(
            max_workers=max(settings.webhook_concurrency, 1), thread_name_prefix="scimhub-webhook"
        )
        self.inflight: dict[Future[delivery.Outcome], str] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_purge = 0.0
        self._unanalyzed = 0
        self._linger = False

    # -- one round ---------------------------------------------------------------------

    def run_once(self, wait_seconds: float = 0.0) -> bool:
        """One round: publish, claim and start deliveries, collect finished ones (waiting
        up to `wait_seconds` for one), send email, run subscribers. True if anything
        was done."""
        published = dispatch(self.db, self.settings)
        self._unanalyzed += published
        if self._unanalyzed >= ANALYZE_EVERY_EVENTS and self.db.dialect == "postgresql":
            self._unanalyzed = 0
            analyze_queues(self.db)
        other_work = self._start_deliveries()
        other_work = self._collect(wait_seconds) or other_work
        other_work = email.drain(self.db, self.name, self.settings) > 0 or other_work
        other_work = run_subscribers(self.db) > 0 or other_work
        # Only a round that did nothing but publish part of a batch lingers: deliveries,
        # emails and subscribers due now never wait for it.
        self._linger = 0 < published < BATCH and not other_work
        busy = published > 0 or other_work
        if time.monotonic() - self._last_purge > RETENTION_EVERY_SECONDS:
            self._last_purge = time.monotonic()
            retention.purge(self.db)
        return busy

    def drain(self, timeout: float = 30.0) -> None:
        """Rounds until nothing is left to do now (tests, `--once`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.run_once(wait_seconds=0.05) and not self.inflight:
                return

    def _start_deliveries(self) -> bool:
        room = self.settings.webhook_concurrency - len(self.inflight)
        if room <= 0:
            return False
        busy = Counter(self.inflight.values())
        skip = {
            endpoint: self.settings.webhook_endpoint_concurrency - n for endpoint, n in busy.items()
        }
        claimed = delivery.claim(self.db, self.name, room, self.settings, skip=skip)
        for item in claimed:
            future = self.pool.submit(delivery.attempt, self.client, item)
            self.inflight[future] = item.endpoint_id
        return bool(claimed)

    def _collect(self, wait_seconds: float) -> bool:
        if not self.inflight:
            return False
        # Wait for the whole batch (up to `wait_seconds`; a slow endpoint's attempt stays
        # in flight for a later round) and record it in one transaction: two short write
        # transactions per batch rather than per delivery.
        done, _ = wait(list(self.inflight), timeout=wait_seconds, return_when=ALL_COMPLETED)
        if not done:
            done, _ = wait(list(self.inflight), timeout=0, return_when=FIRST_COMPLETED)
        if not done:
            return False
        outcomes = []
        for future in done:
            self.inflight.pop(future)
            outcomes.append(future.result())
        delivery.record(self.db, self.name, outcomes, self.settings)
        return True

    # -- running -----------------------------------------------------------------------

    def run_forever(self) -> None:
        poll = self.settings.worker_poll_seconds
        while not self._stop.is_set():
            try:
                busy = self.run_once(wait_seconds=poll if self.inflight else 0.0)
            except Exception:
                log.exception("worker round failed; retrying")
                busy = False
            if not busy and not self.inflight:
                self._stop.wait(poll)
            elif self._linger and not self.inflight:
                self._stop.wait(min(LINGER_SECONDS, poll))
        # Let attempts in flight finish and record them, so a clean stop loses nothing
        # (a killed worker's leases expire instead).
        while self.inflight:
            self._collect(self.settings.webhook_timeout_seconds + 1)

    def start(self) -> None:
        """Runs in a daemon thread until `stop`."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(
                target=self.run_forever, name="scimhub-worker", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=self.settings.webhook_timeout_seconds + 5)
        self.close()

    def request_stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.client.close()


def analyze_queues(db: Database) -> None:
    """Fresh planner statistics for the delivery queue (PostgreSQL)."""
    with db.write() as conn:
        conn.exec_driver_sql("ANALYZE deliveries")
