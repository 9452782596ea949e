"""scimhub benchmark: loads data, then measures requests per second and p50/p99 latency
over HTTP against `scimhub serve --workers 1` pinned to one core, with the load
generator on another core. Results go to a JSON file and, as Markdown, to stdout.

    python bench/run.py                      # full run: 10,000 and 1,000,000 users, both backends
    python bench/run.py --quick              # smoke run: small data, short phases
    python bench/run.py --backend sqlite --users-large 100000 --duration 5

See docs/benchmarks.md for what is measured and the last results."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from client import Request, Stats, measure, request_once
from load import Dataset, prepare
from pg import Cluster, free_port
from procfs import machine_busy_seconds, wait_until_quiet
from report import Result, markdown, targets
from scenarios import (
    BASE,
    Scenario,
    create_user,
    filter_user,
    get_user,
    health,
    list_cursor,
    list_index,
    patch_members,
)
from server import Server
from verify import verify

import scimhub

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class Config:
    backends: list[str]
    datasets: list[str]
    users_small: int
    users_large: int
    group_small: int
    group_large: int
    duration: float
    warmup: float
    concurrency: int
    seed: int
    wait_quiet: float


def _arguments(argv: list[str] | None) -> tuple[Config, argparse.Namespace]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    p.add_argument(
        "--dataset",
        choices=["small", "large", "both"],
        default="both",
        help="the 10,000-user database, the 1,000,000-user one, or both",
    )
    p.add_argument("--quick", action="store_true", help="small data and short phases")
    p.add_argument("--users-small", type=int, help="users in the small database (10000)")
    p.add_argument("--users-large", type=int, help="users in the large database (1000000)")
    p.add_argument("--group-small", type=int, help="members of the small group (10)")
    p.add_argument("--group-large", type=int, help="members of the large group (100000)")
    p.add_argument("--duration", type=float, help="measured seconds per scenario (10)")
    p.add_argument("--warmup", type=float, help="warm-up seconds per scenario (3)")
    p.add_argument("--concurrency", type=int, default=4, help="connections (4)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="before each scenario, wait up to this long for the machine to be idle",
    )
    p.add_argument("--output", type=Path, help="JSON results (bench/results/<mode>.json)")
    p.add_argument("--workdir", type=Path, help="SQLite files and logs (a temporary dir)")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    p.add_argument("--check", action="store_true", help="exit 1 when a target fails")
    args = p.parse_args(argv)
    quick = args.quick
    config = Config(
        backends=["sqlite", "postgresql"] if args.backend == "both" else [args.backend],
        datasets=["small", "large"] if args.dataset == "both" else [args.dataset],
        users_small=args.users_small or (1_000 if quick else 10_000),
        users_large=args.users_large or (20_000 if quick else 1_000_000),
        group_small=args.group_small or 10,
        group_large=args.group_large or (5_000 if quick else 100_000),
        duration=args.duration or (2.0 if quick else 10.0),
        warmup=args.warmup if args.warmup is not None else (0.5 if quick else 3.0),
        concurrency=args.concurrency,
        seed=args.seed,
        wait_quiet=args.wait_quiet,
    )
    if config.users_large < config.group_large + config.group_small + 1000:
        p.error("--users-large must exceed the two groups' members by at least 1,000")
    if not 0 < config.duration <= 600 or not 0 <= config.warmup <= 120:
        p.error("--duration must be in (0, 600] and --warmup in [0, 120]")
    if not 1 <= config.concurrency <= 64:
        p.error("--concurrency must be in [1, 64]")
    return config, args


def _machine() -> dict[str, Any]:
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.partition(":")[2].strip()
            break
    memory = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]

    def git(*args: str) -> str:
        run = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
        return run.stdout.strip()

    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "memory_gib": round(int(memory) / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "commit": git("rev-parse", "--short", "HEAD") + ("+dirty" if dirty else ""),
        "scimhub": str(Path(scimhub.__file__).parent),
    }


@dataclass(frozen=True, slots=True)
class Backend:
    new_database: Callable[[str], str]  # name → URL of a new empty database
    cpu_seconds: Callable[[], float]  # of the database server's processes, if any
    version: str


@contextmanager
def _backend(name: str, workdir: Path) -> Iterator[Backend]:
    if name == "sqlite":

        def sqlite_url(name: str) -> str:
            path = workdir / f"{name}.db"
            for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                stale.unlink(missing_ok=True)
            return f"sqlite:///{path}"

        yield Backend(sqlite_url, lambda: 0.0, f"SQLite {sqlite3.sqlite_version}")
        return
    cluster = Cluster()
    try:
        yield Backend(cluster.create_database, cluster.cpu_seconds, cluster.version())
    finally:
        cluster.stop()


def _scenarios(config: Config, dataset: Dataset, name: str) -> list[Scenario]:
    n, seed = dataset.users, config.seed
    found = [health()] if name == "small" else []
    found += [get_user(n, seed), filter_user(n, seed), list_index(n, seed), list_cursor()]
    if name == "large":
        first = config.group_large + config.group_small
        candidates = range(first, n)
        for exclude in (True, False):
            for group, size in (("small", config.group_small), ("large", config.group_large)):
                key = f"patch_{group}{'_excl' if exclude else ''}"
                found.append(
                    patch_members(
                        key, dataset.groups[group], size, candidates, config.concurrency, exclude
                    )
                )
    found.append(create_user(n + 1_000_000))
    return found


def _large_group_get(dataset: Dataset, port: int, server: Server) -> Stats:
    """One GET of the large group with all its members (not a load test: one request)."""
    path = f"{BASE}/Groups/{dataset.groups['large']}"
    response, ms = request_once(Request("GET", path), port=port, token=dataset.token)
    stats = Stats(requests=1, seconds=ms / 1000, latencies_ms=[ms])
    if response.status != 200:
        stats.errors, stats.latencies_ms = 1, []
        stats.first_error = f"GET {path} → {response.status}"
    return stats


def _measure_dataset(
    config: Config,
    backend: str,
    db_cpu: Callable[[], float],
    name: str,
    dataset: Dataset,
    core: int,
    log: Path,
    memory: dict[str, Any],
) -> list[Result]:
    results: list[Result] = []
    port = free_port()
    with Server(dataset.url, port, core, log) as server:
        memory[f"{name}: after start"] = server.memory_mib()
        verify(dataset, port)
        memory[f"{name}: after verification"] = server.memory_mib()
        for scenario in _scenarios(config, dataset, name):
            if config.wait_quiet:
                busy = wait_until_quiet(config.wait_quiet)
                if busy >= 0.1:
                    print(f"    warning: the machine is busy ({busy:.0%} of a core)", flush=True)
            stats = measure(
                scenario.factory,
                port=port,
                token=dataset.token,
                concurrency=config.concurrency,
                warmup=config.warmup,
                duration=config.duration,
                probe=lambda: {
                    "server": server.cpu_seconds(),
                    "database": db_cpu(),
                    "machine": machine_busy_seconds(),
                },
            )
            result = Result.of(
                backend,
                name,
                dataset.users,
                scenario.key,
                scenario.title,
                stats,
                server.memory_mib(),
            )
            results.append(result)
            _progress(result)
        if name == "large":
            stats = _large_group_get(dataset, port, server)
            title = f"GET /Groups/{{id}} with {config.group_large:,} members (one request)"
            result = Result.of(
                backend, name, dataset.users, "get_large_group", title, stats, server.memory_mib()
            )
            results.append(result)
            _progress(result)
    return results


def _progress(r: Result) -> None:
    print(
        f"  {r.backend:10} {r.users:>9,} {r.scenario:18} {r.rps:9,.0f} req/s  "
        f"p50 {r.p50_ms:7.2f} ms  p99 {r.p99_ms:7.2f} ms  errors {r.errors}  "
        f"CPU/req {r.server_ms:.2f} ms  "
        f"CPU server {r.server_cpu:.0%} db {r.database_cpu:.0%} client {r.client_cpu:.0%} "
        f"other {r.other_cpu:.0%}  RSS {r.rss_mib:.0f} MiB",
        flush=True,
    )
    if r.first_error:
        print(f"    first error: {r.first_error}", flush=True)
    if r.other_cpu > 0.1:
        print(f"    warning: other processes used {r.other_cpu:.0%} of a core meanwhile")


def _run_backend(
    config: Config, backend: str, workdir: Path, core: int, record: dict[str, Any]
) -> list[Result]:
    results: list[Result] = []
    record["load_seconds"], record["memory_mib"] = {}, {}
    with _backend(backend, workdir) as engine:
        record["version"] = engine.version
        sizes = {"small": config.users_small, "large": config.users_large}
        for name in config.datasets:
            users = sizes[name]
            groups = {}
            if name == "large":
                groups = {
                    "small": range(config.group_large, config.group_large + config.group_small),
                    "large": range(config.group_large),
                }
            print(f"{backend}: loading {users:,} users ({name})", flush=True)
            started = time.perf_counter()
            dataset = prepare(engine.new_database(f"bench_{name}"), users, groups)
            record["load_seconds"][name] = {
                **{k: round(v, 1) for k, v in dataset.seconds.items()},
                "total": round(time.perf_counter() - started, 1),
            }
            print(f"{backend}: loaded in {record['load_seconds'][name]}", flush=True)
            log = workdir / f"server-{backend}-{name}.log"
            results += _measure_dataset(
                config, backend, engine.cpu_seconds, name, dataset, core, log, record["memory_mib"]
            )
    return results


def _write(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    temporary.replace(path)


def main(argv: list[str] | None = None) -> int:
    config, args = _arguments(argv)
    cores = sorted(os.sched_getaffinity(0))
    client_core, server_core = cores[0], cores[-1]
    if client_core == server_core:
        print("warning: one core only: the load generator shares it with the server")
    # The load generator (and PostgreSQL, started from here) on one core, the server on
    # another.
    os.sched_setaffinity(0, {client_core})
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="scimhub-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    output = args.output or ROOT / "bench" / "results" / f"{'quick' if args.quick else 'full'}.json"
    document: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": _machine(),
        "config": {**asdict(config), "client_core": client_core, "server_core": server_core},
        "backends": {},
    }
    results: list[Result] = []
    try:
        for backend in config.backends:
            record: dict[str, Any] = {}
            document["backends"][backend] = record
            backend_results = _run_backend(config, backend, workdir, server_core, record)
            results += backend_results
            record["results"] = [r.to_json() for r in backend_results]
            record["targets"] = [t.to_json() for t in targets(backend_results, backend)]
            _write(output, document)
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    found = [t for b in config.backends for t in targets(results, b)]
    print()
    print(markdown(results, found))
    print(f"\nresults: {output}")
    return 1 if args.check and not all(t.passed for t in found) else 0


if __name__ == "__main__":
    sys.exit(main())
