"""Deactivation → webhook latency under sustained SCIM write load.

`scimhub serve` (its own process, pinned to one core, the embedded worker on) serves a
tenant with one webhook endpoint receiving every event type at a local HTTP receiver in
this process. Load threads POST new users at `--rate` per second for `--duration`
seconds; a probe thread sends a deactivation PATCH of a pre-created user every
`--probe-interval` seconds. For each probe: the time from sending the PATCH to the
receiver getting its `user.deactivated` webhook. Reports p50/p99/max of that latency,
the write rate reached and the writes' own p50/p99.

    .venv/bin/python bench/webhook_latency.py [--backend sqlite|postgresql] [--rate 200]
        [--duration 20] [--load-threads 4] [--output FILE]

Target (issue 6): p99 under one second on loopback."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pg import Cluster, free_port
from server import Server

from scimhub.db.engine import Database
from scimhub.db.migrate import upgrade
from scimhub.events.endpoints import add_endpoint
from scimhub.tenancy.sso import set_connection, set_state
from scimhub.tenancy.tenants import create_tenant
from scimhub.tenancy.tokens import create_token

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


class Receiver:
    """Records when each user's `user.deactivated` webhook arrives; counts the rest."""

    def __init__(self) -> None:
        self.deactivated: dict[str, float] = {}
        self.total = 0
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            # Keep-alive, as a real app's web server answers.
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                at = time.perf_counter()
                event = json.loads(body)
                with owner.lock:
                    owner.total += 1
                    if event["type"] == "user.deactivated":
                        owner.deactivated.setdefault(event["resource"]["id"], at)
                self.send_response(204)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"


def _setup(url: str, hook_url: str) -> str:
    upgrade(url)
    db = Database(url)
    try:
        with db.write() as conn:
            tenant = create_tenant(conn, "bench", "Bench")
            set_connection(conn, tenant.id, protocol="saml", idp_id="https://idp.bench")
            set_state(conn, tenant.id, "active")
            token = create_token(conn, tenant.id)
            add_endpoint(conn, tenant.id, hook_url)
        return token
    finally:
        db.dispose()


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def run(args: argparse.Namespace) -> dict[str, Any]:
    receiver = Receiver()
    cluster = Cluster() if args.backend == "postgresql" else None
    workdir = Path(tempfile.mkdtemp(prefix="scimhub-bench-hooks-"))
    url = cluster.create_database("bench_hooks") if cluster else f"sqlite:///{workdir / 'bench.db'}"
    token = _setup(url, receiver.url)
    port = free_port()
    os.environ["SCIMHUB_WORKER_POLL_SECONDS"] = str(args.poll)
    worker = None
    if args.separate_worker:
        # The server only serves; a `scimhub worker` process on the other core delivers.
        os.environ["SCIMHUB_WORKER_IN_SERVE"] = "false"
        worker = subprocess.Popen(
            [sys.executable, "-m", "scimhub", "worker", "--database-url", url],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            preexec_fn=lambda: os.sched_setaffinity(0, {1 % (os.cpu_count() or 1)}),
        )
    try:
        with Server(url, port, core=0, log=workdir / "server.log"):
            result = _measure(args, port, token, receiver)
            result["worker"] = "scimhub worker (own process)" if worker else "embedded in serve"
            return result
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
        if cluster:
            cluster.stop()


def _measure(args: argparse.Namespace, port: int, token: str, receiver: Receiver) -> dict[str, Any]:
    root = f"http://127.0.0.1:{port}/scim/v2/bench"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
    setup = httpx.Client(headers=headers, timeout=30)
    probes_needed = int(args.duration / args.probe_interval) + 5
    targets = [
        setup.post(f"{root}/Users", json={"schemas": [USER], "userName": f"probe{i}@bench"}).json()[
            "id"
        ]
        for i in range(probes_needed)
    ]
    time.sleep(1.0)  # let the set-up events drain
    stop = threading.Event()
    write_latencies: list[float] = []
    lock = threading.Lock()
    counter = iter(range(10**9))

    def load() -> None:
        client = httpx.Client(headers=headers, timeout=30)
        interval = args.load_threads / args.rate
        next_at = time.perf_counter()
        while not stop.is_set():
            n = next(counter)
            started = time.perf_counter()
            r = client.post(f"{root}/Users", json={"schemas": [USER], "userName": f"load{n}@bench"})
            took = time.perf_counter() - started
            if r.status_code == 201:
                with lock:
                    write_latencies.append(took)
            next_at += interval
            time.sleep(max(0.0, next_at - time.perf_counter()))

    sent: dict[str, float] = {}

    def probe() -> None:
        client = httpx.Client(headers=headers, timeout=30)
        body = {
            "schemas": [PATCH],
            "Operations": [{"op": "replace", "path": "active", "value": False}],
        }
        for target in targets:
            if stop.is_set():
                return
            sent[target] = time.perf_counter()
            client.patch(f"{root}/Users/{target}", json=body)
            stop.wait(args.probe_interval)

    threads = [threading.Thread(target=load, daemon=True) for _ in range(args.load_threads)]
    threads.append(threading.Thread(target=probe, daemon=True))
    began = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(args.duration)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    elapsed = time.perf_counter() - began
    deadline = time.perf_counter() + 10
    while time.perf_counter() < deadline and not set(sent) <= set(receiver.deactivated):
        time.sleep(0.05)
    latencies = [receiver.deactivated[k] - v for k, v in sent.items() if k in receiver.deactivated]
    return {
        "backend": args.backend,
        "target_write_rate": args.rate,
        "write_rate": round(len(write_latencies) / elapsed, 1),
        "write_p50_ms": round(statistics.median(write_latencies) * 1000, 2),
        "write_p99_ms": round(_pct(write_latencies, 99) * 1000, 2),
        "probes": len(sent),
        "probes_delivered": len(latencies),
        "webhooks_received": receiver.total,
        "deactivation_to_webhook_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "deactivation_to_webhook_p99_ms": round(_pct(latencies, 99) * 1000, 1),
        "deactivation_to_webhook_max_ms": round(max(latencies) * 1000, 1),
        "worker_poll_seconds": args.poll,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--rate", type=float, default=200.0, help="SCIM creates per second")
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--load-threads", type=int, default=4)
    parser.add_argument("--probe-interval", type=float, default=0.1)
    parser.add_argument("--poll", type=float, default=0.1, help="SCIMHUB_WORKER_POLL_SECONDS")
    parser.add_argument("--separate-worker", action="store_true", help="scimhub worker process")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    result = run(args)
    text = json.dumps(result, indent=2)
    print(text)
    if args.output:
        args.output.write_text(text + "\n")


if __name__ == "__main__":
    main()
