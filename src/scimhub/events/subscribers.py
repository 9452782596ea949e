"""In-process subscribers, for apps that embed scimhub in their own Python process.

    import scimhub.events
    scimhub.events.subscribe(on_event, types=["user.deactivated"])

`on_event(event: dict)` is called by the worker of this process (the one `scimhub
serve` starts, or `Worker.run_once`) after the change committed, with the event as the
feed and webhooks carry it, in feed order. At least once: each subscriber has a durable
cursor (`event_cursors`, by its name); a callback that raises stops that subscriber's
round and the event is offered again on the next. A new subscriber starts at the events
published after it first ran, unless `from_start=True`."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, func, insert, select, update

from scimhub.db.engine import Database
from scimhub.db.tables import event_cursors, events
from scimhub.events.kinds import KINDS

log = logging.getLogger("scimhub.events")

Callback = Callable[[dict[str, Any]], None]
BATCH = 500


@dataclass(frozen=True, slots=True)
class Subscription:
    name: str
    callback: Callback
    types: frozenset[str] | None
    from_start: bool


_lock = threading.Lock()
_subscriptions: dict[str, Subscription] = {}


def subscribe(
    callback: Callback,
    types: Iterable[str] | None = None,
    *,
    name: str | None = None,
    from_start: bool = False,
) -> Subscription:
    """Registers `callback` for events of `types` (None: all). `name` (default: the
    callback's module and qualified name) keys its durable cursor: keep it stable."""
    wanted = frozenset(types) if types is not None else None
    if wanted is not None and not wanted <= set(KINDS):
        raise ValueError(f"unknown event type(s): {', '.join(sorted(wanted - set(KINDS)))}")
    key = name or f"{callback.__module__}.{getattr(callback, '__qualname__', repr(callback))}"
    sub = Subscription(key, callback, wanted, from_start)
    with _lock:
        _subscriptions[key] = sub
    return sub


def unsubscribe(subscription: Subscription) -> None:
    with _lock:
        _subscriptions.pop(subscription.name, None)


def subscriptions() -> list[Subscription]:
    with _lock:
        return list(_subscriptions.values())


def run_subscribers(db: Database) -> int:
    """Offers each subscriber the events after its cursor; returns how many calls."""
    subs = subscriptions()
    if not subs:
        return 0
    calls = 0
    for sub in subs:
        with db.read() as conn:
            cursor = conn.execute(
                select(event_cursors.c.feed_seq).where(event_cursors.c.name == sub.name)
            ).scalar()
            top = conn.execute(
                select(func.max(events.c.feed_seq)).where(events.c.feed_seq.is_not(None))
            ).scalar()
            rows: Sequence[Row[Any, Any, Any]] = ()
            if cursor is not None:
                rows = conn.execute(
                    select(events.c.feed_seq, events.c.type, events.c.payload)
                    .where(events.c.feed_seq > cursor)
                    .order_by(events.c.feed_seq)
                    .limit(BATCH)
                ).all()
        if cursor is None:
            start = 0 if sub.from_start else int(top or 0)
            with db.write() as conn:
                conn.execute(insert(event_cursors).values(name=sub.name, feed_seq=start))
            continue
        handled = int(cursor)
        for row in rows:
            if sub.types is None or row.type in sub.types:
                try:
                    sub.callback({**row.payload, "sequence": row.feed_seq})
                except Exception:
                    log.exception(
                        "subscriber %s failed on event %s; retrying later",
                        sub.name,
                        row.payload.get("id"),
                    )
                    break
                calls += 1
            handled = int(row.feed_seq)
        if handled != cursor:
            with db.write() as conn:
                conn.execute(
                    update(event_cursors)
                    .where(event_cursors.c.name == sub.name)
                    .values(feed_seq=handled)
                )
    return calls
