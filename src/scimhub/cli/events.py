"""`scimhub webhook add|list|remove` and `scimhub worker`.

`scimhub webhook add --tenant SLUG --url URL [--events TYPE,...] --json` prints at least
`{"id": …, "secret": …}`: other tools rely on it."""

from __future__ import annotations

import argparse
import signal
from collections.abc import Callable
from types import FrameType

from scimhub.cli.common import (
    ACTOR,
    Handler,
    Subparsers,
    add_json,
    database,
    print_json,
    print_table,
    require_tenant,
    settings_of,
    when,
)
from scimhub.events.endpoints import Endpoint, add_endpoint, list_endpoints, remove_endpoint
from scimhub.events.worker import Worker


def _types(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def endpoint_dict(endpoint: Endpoint, *, secret: bool = False) -> dict[str, object]:
    out: dict[str, object] = {
        "id": endpoint.id,
        "url": endpoint.url,
        "events": list(endpoint.event_types) if endpoint.event_types is not None else None,
        "enabled": endpoint.enabled,
        "created_at": endpoint.created_at,
    }
    if secret:
        out["secret"] = endpoint.secret
    return out


def _add(args: argparse.Namespace) -> None:
    with database(args) as db, db.write() as conn:
        tenant = require_tenant(conn, args.tenant)
        created = add_endpoint(
            conn,
            tenant.id,
            args.url,
            event_types=_types(args.events) if args.events else None,
            description=args.description,
            created_by=ACTOR,
        )
    if args.json:
        print_json(endpoint_dict(created, secret=True))
    else:
        print(f"webhook {created.id} added; signing secret (shown once): {created.secret}")


def _list(args: argparse.Namespace) -> None:
    with database(args) as db, db.read() as conn:
        tenant = require_tenant(conn, args.tenant)
        found = list_endpoints(conn, tenant.id)
    if args.json:
        print_json([endpoint_dict(e) for e in found])
        return
    if not found:
        print(f"tenant {tenant.slug} has no webhooks")
        return
    rows = [
        [
            e.id,
            e.url,
            ",".join(e.event_types) if e.event_types else "*",
            "yes" if e.enabled else "no",
            when(e.created_at),
        ]
        for e in found
    ]
    print_table(["id", "url", "events", "enabled", "created"], rows)


def _remove(args: argparse.Namespace) -> None:
    with database(args) as db, db.write() as conn:
        tenant = require_tenant(conn, args.tenant)
        remove_endpoint(conn, tenant.id, args.id)
    if args.json:
        print_json({"id": args.id, "removed": True})
    else:
        print(f"webhook {args.id} removed")


def _worker(args: argparse.Namespace) -> None:
    settings = settings_of(args)
    with database(args) as db:
        worker = Worker(settings, db)
        if args.once:
            worker.drain()
            worker.close()
            return

        def _stop(_signum: int, _frame: FrameType | None) -> None:
            worker.request_stop()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        print(f"scimhub worker {worker.name} started", flush=True)
        worker.run_forever()
        worker.close()


def register(
    commands: Subparsers,
    command: Callable[[Subparsers, str, Handler, str], argparse.ArgumentParser],
) -> None:
    webhook = commands.add_parser("webhook", help="webhook endpoints")
    actions = webhook.add_subparsers(dest="action", required=True)
    add = command(actions, "add", _add, "add a webhook endpoint (prints its secret)")
    add.add_argument("--tenant", required=True)
    add.add_argument("--url", required=True)
    add.add_argument("--events", help="comma-separated event types (default: all)")
    add.add_argument("--description")
    add_json(add)
    listing = command(actions, "list", _list, "list a tenant's webhook endpoints")
    listing.add_argument("--tenant", required=True)
    add_json(listing)
    remove = command(actions, "remove", _remove, "remove a webhook endpoint")
    remove.add_argument("--tenant", required=True)
    remove.add_argument("id")
    add_json(remove)

    worker = command(
        commands, "worker", _worker, "deliver events (several may share one PostgreSQL)"
    )
    worker.add_argument("--once", action="store_true", help="work until idle, then exit")
