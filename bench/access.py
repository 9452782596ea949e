"""The access check's throughput and latency: `GET
/admin/v1/tenants/{tenant}/users/{id}/access` on a real uvicorn server over SQLite.

    python bench/access.py [--users 2000] [--requests 3000] [--threads 4]

Builds a throwaway SQLite database: one tenant, `--users` users, 50 groups of which 10
are nested two deep (each group a role), every user in 1-3 groups, a default role,
some hand grants. Then measures, each on a warm server:

- the check itself (`lifecycle.access.check_access` on one connection): the cost of the
  indexed statements, without HTTP;
- server time per request (from the ASGI call to the end of the response, measured
  inside the server by a wrapper around the app) and requests/s, one client thread,
  then `--threads` client threads.

Prints a Markdown table; docs/benchmarks.md has the last results."""

from __future__ import annotations

import argparse
import random
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from scimhub.db import migrate
from scimhub.db.engine import Database
from scimhub.lifecycle import policies, roles
from scimhub.lifecycle.access import check_access
from scimhub.resources.groups import GroupStore
from scimhub.resources.users import UserStore
from scimhub.settings import Settings
from scimhub.tenancy import principals, sso
from scimhub.tenancy.tenants import create_tenant, get_tenant
from scimhub.web.app import create_app


class Timed:
    """Server time of each request: from the ASGI call to the end of the response."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.samples: list[float] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        await self.app(scope, receive, send)
        self.samples.append(time.perf_counter() - started)


def _load(db: Database, n_users: int) -> tuple[str, list[str]]:
    rng = random.Random(5)
    users, groups = UserStore(db.dialect), GroupStore(db.dialect)
    with db.write() as conn:
        tenant = create_tenant(conn, "acme", "Acme")
        sso.set_connection(conn, tenant.id, protocol="saml", idp_id="https://idp.example")
        sso.set_state(conn, tenant.id, "active")
        key = principals.create_admin_key(conn, tenant_id=tenant.id, role="member")[0]
        roles.create_app_role(conn, tenant.id, "viewer", "Viewer")
        roles.create_app_role(conn, tenant.id, "billing", "Billing")
        policies.update_policy(conn, tenant.id, default_role_key="viewer")
        ids = [
            users.insert(conn, tenant.id, {"userName": f"user{i}@acme.com", "active": True}).id
            for i in range(n_users)
        ]
        group_ids: list[str] = []
        for g in range(50):
            members = rng.sample(ids, k=max(1, n_users * 2 // 50))
            body = {"displayName": f"Team {g}", "members": [{"value": m} for m in members]}
            if g >= 40:  # nested: Team 40..49 contain Team g-40
                body["members"].append({"value": group_ids[g - 40]})
            stored = groups.insert(conn, tenant.id, body)
            roles.adopt_for_group(conn, tenant.id, stored.id, f"Team {g}", None)
            group_ids.append(stored.id)
        for user_id in ids[::10]:
            roles.grant(conn, tenant.id, user_id, "billing", by="bench")
    return key, ids


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _row(name: str, samples: list[float], seconds: float) -> str:
    return (
        f"| {name} | {len(samples) / seconds:,.0f} | {statistics.median(samples) * 1e3:.3f} "
        f"| {_percentile(samples, 0.99) * 1e3:.3f} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        migrate.upgrade(url)
        db = Database(url)
        key, ids = _load(db, args.users)
        rng = random.Random(7)
        picks = [rng.choice(ids) for _ in range(args.requests)]

        # 1. The check alone, on one connection.
        with db.read() as conn:
            tenant = get_tenant(conn, "acme")
        assert tenant is not None
        tenant_id = tenant.id
        direct: list[float] = []
        with db.read() as conn:
            for user_id in picks[:200]:
                check_access(conn, tenant_id, user_id)  # warm-up
            started = time.perf_counter()
            for user_id in picks:
                t = time.perf_counter()
                found = check_access(conn, tenant_id, user_id)
                direct.append(time.perf_counter() - t)
                assert found is not None and found.active
            direct_seconds = time.perf_counter() - started

        # 2. Over HTTP, a real server.
        settings = Settings(database_url=url, host="127.0.0.1")
        app = Timed(create_app(settings, db))
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        server = uvicorn.Server(
            uvicorn.Config(app=app, log_level="warning", lifespan="off", access_log=False)
        )
        thread = threading.Thread(target=lambda: server.run(sockets=[sock]), daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        headers = {"Authorization": f"Bearer {key}"}
        base = f"http://127.0.0.1:{port}/admin/v1/tenants/acme/users"

        def drive(user_ids: list[str]) -> None:
            with httpx.Client(headers=headers) as client:
                for user_id in user_ids:
                    response = client.get(f"{base}/{user_id}/access")
                    assert response.status_code == 200, response.text

        drive(picks[:200])  # warm-up
        app.samples.clear()
        started = time.perf_counter()
        drive(picks)
        one_seconds = time.perf_counter() - started
        one = list(app.samples)

        app.samples.clear()
        share = [picks[i :: args.threads] for i in range(args.threads)]
        workers = [threading.Thread(target=drive, args=(s,)) for s in share]
        started = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        many_seconds = time.perf_counter() - started
        many = list(app.samples)
        server.should_exit = True
        thread.join(timeout=15)
        db.dispose()

    print(f"{args.users} users, 50 groups (10 nested), {args.requests} checks, SQLite")
    print()
    print("| measured | checks/s | p50 ms | p99 ms |")
    print("|---|---|---|---|")
    print(_row("check_access() alone (2 indexed statements)", direct, direct_seconds))
    print(_row("HTTP, server time, 1 client", one, one_seconds))
    print(_row(f"HTTP, server time, {args.threads} clients", many, many_seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
