"""Events to the host app: the outbox written with each change, webhooks signed per
Standard Webhooks, the pull feed, email, and in-process subscribers.

- `emit(conn, tenant_id, type, …)`: record an event in the caller's transaction;
- `EventObserver`: the `ChangeObserver` emitting the events of SCIM writes;
- `subscribe(callback, types=…)`: in-process subscribers (called by the worker);
- `Worker`: publishes, delivers, sends, runs subscribers (events/worker.py)."""

from scimhub.events.kinds import KINDS
from scimhub.events.outbox import EventObserver, emit
from scimhub.events.subscribers import Subscription, subscribe, unsubscribe

__all__ = ["KINDS", "EventObserver", "Subscription", "emit", "subscribe", "unsubscribe"]
