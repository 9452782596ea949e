"""The member PATCH target measured so that this VM's drift cancels out: alternating
bursts of `PATCH /Groups/{id}` member add+remove on a 10-member and a 100,000-member
group of one server (SQLite, 120,000 users), with and without
`excludedAttributes=members`, the median server CPU per request of each, and the two
ratios (large over small; the target is ≤ 1.5x). `run.py` measures the four scenarios
one after another, minutes apart, so its ratio carries the drift (docs/benchmarks.md).

    python bench/patch_ratio.py            # 5 rounds of 2.5 s bursts, ~3 min with loading
    python bench/patch_ratio.py --rounds 8"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

from client import measure
from load import prepare
from pg import free_port
from scenarios import patch_members
from server import Server

USERS, LARGE, SMALL = 120_000, 100_000, 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {1})  # the server gets core 0 (Server(..., core=0))
    with tempfile.TemporaryDirectory(prefix="scimhub-patch-ratio-") as tmp:
        work = Path(tmp)
        groups = {"small": range(LARGE, LARGE + SMALL), "large": range(LARGE)}
        print(f"loading {USERS:,} users and the two groups", flush=True)
        dataset = prepare(f"sqlite:///{work / 'bench.db'}", USERS, groups)
        candidates = range(LARGE + SMALL, USERS)
        costs: dict[str, list[float]] = {}
        with Server(dataset.url, free_port(), 0, work / "server.log") as server:
            for round_ in range(args.rounds):
                for exclude in (True, False):
                    for group, size in (("small", SMALL), ("large", LARGE)):
                        key = f"{group}{'_excl' if exclude else ''}"
                        scenario = patch_members(
                            key, dataset.groups[group], size, candidates, 4, exclude
                        )
                        stats = measure(
                            scenario.factory,
                            port=server.port,
                            token=dataset.token,
                            concurrency=4,
                            warmup=0.5,
                            duration=2.5,
                            probe=lambda: {"server": server.cpu_seconds()},
                        )
                        ms = stats.cpu["server"] * stats.seconds * 1000 / stats.requests
                        costs.setdefault(key, []).append(ms)
                        print(
                            f"round {round_} {key:10s} {stats.rps:6.0f} req/s  "
                            f"CPU/req {ms:.2f} ms  errors {stats.errors}",
                            flush=True,
                        )
    median = {key: statistics.median(values) for key, values in costs.items()}
    for exclude in ("_excl", ""):
        ratio = median[f"large{exclude}"] / median[f"small{exclude}"]
        label = "with excludedAttributes=members" if exclude else "without it"
        print(
            f"member PATCH, 100,000 vs 10 members, {label}: {ratio:.2f}x "
            f"(CPU {median[f'large{exclude}']:.2f} vs {median[f'small{exclude}']:.2f} ms/req)"
        )


if __name__ == "__main__":
    main()
