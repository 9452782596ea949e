"""Results: one record per measured scenario, the issue's targets, and Markdown tables."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from client import Stats


@dataclass(slots=True)
class Result:
    backend: str
    dataset: str  # "small" or "large"
    users: int
    scenario: str
    title: str
    requests: int
    errors: int
    rps: float
    p50_ms: float
    p99_ms: float
    server_cpu: float  # busy fraction of one core
    database_cpu: float  # PostgreSQL's processes (0 on SQLite: it runs in the server)
    client_cpu: float
    other_cpu: float  # the rest of the machine: anything above ~0.05 disturbs the run
    # CPU time per request in ms: robust to other load on the machine, unlike req/s.
    server_ms: float
    database_ms: float
    rss_mib: float
    hwm_mib: float
    first_error: str = ""

    @classmethod
    def of(
        cls,
        backend: str,
        dataset: str,
        users: int,
        scenario: str,
        title: str,
        stats: Stats,
        memory: tuple[float, float],
    ) -> Result:
        cpu = stats.cpu
        other = cpu.get("machine", 0.0) - sum(v for k, v in cpu.items() if k != "machine")
        per_request = stats.seconds * 1000 / stats.requests if stats.requests else 0.0
        return cls(
            backend,
            dataset,
            users,
            scenario,
            title,
            stats.requests,
            stats.errors,
            round(stats.rps, 1),
            round(stats.percentile(50), 3),
            round(stats.percentile(99), 3),
            round(cpu.get("server", 0.0), 2),
            round(cpu.get("database", 0.0), 2),
            round(cpu.get("client", 0.0), 2),
            round(max(0.0, other), 2),
            round(cpu.get("server", 0.0) * per_request, 3),
            round(cpu.get("database", 0.0) * per_request, 3),
            round(memory[0], 1),
            round(memory[1], 1),
            stats.first_error,
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class Target:
    backend: str
    name: str
    limit: str
    measured: str
    passed: bool

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _find(results: list[Result], backend: str, dataset: str, scenario: str) -> Result | None:
    for r in results:
        if (r.backend, r.dataset, r.scenario) == (backend, dataset, scenario):
            return r
    return None


def _cost(r: Result) -> float:
    """CPU time per request (server + PostgreSQL) in ms. Unlike req/s and latency it
    hardly moves when other processes share the machine."""
    return r.server_ms + r.database_ms


def _ratio(big: Result, small: Result) -> tuple[float, str]:
    ratio = _cost(big) / _cost(small) if _cost(small) else math.inf
    return ratio, (
        f"{ratio:.2f}x (CPU {_cost(big):.2f} vs {_cost(small):.2f} ms/req; "
        f"p50 {big.p50_ms:.2f} vs {small.p50_ms:.2f} ms; "
        f"{big.rps:,.0f} vs {small.rps:,.0f} req/s)"
    )


def targets(results: list[Result], backend: str) -> list[Target]:
    found: list[Target] = []
    small_f = _find(results, backend, "small", "filter_user")
    large_f = _find(results, backend, "large", "filter_user")
    if small_f and large_f:
        ratio, measured = _ratio(large_f, small_f)
        found.append(
            Target(
                backend,
                f"userName filter at {large_f.users:,} vs {small_f.users:,} users",
                "≤ 2.0x",
                measured,
                ratio <= 2.0 and not (large_f.errors or small_f.errors),
            )
        )
    for suffix, label in (("_excl", "with excludedAttributes=members"), ("", "without it")):
        small_p = _find(results, backend, "large", f"patch_small{suffix}")
        large_p = _find(results, backend, "large", f"patch_large{suffix}")
        if small_p and large_p:
            ratio, measured = _ratio(large_p, small_p)
            errors = large_p.errors + small_p.errors
            found.append(
                Target(
                    backend,
                    f"member PATCH, large vs small group, {label}",
                    "≤ 1.5x, no errors",
                    measured + (f"; {errors} errors" if errors else ""),
                    ratio <= 1.5 and not errors,
                )
            )
    create = _find(results, backend, "small", "create_user")
    if create and backend == "sqlite":
        found.append(
            Target(
                backend,
                "POST /Users on SQLite",
                "≥ 1,000 req/s",
                f"{create.rps:,.0f} req/s ({create.server_ms:.2f} ms CPU/req: at most "
                f"{1000 / create.server_ms if create.server_ms else 0:,.0f} req/s on a free core)",
                create.rps >= 1000 and not create.errors,
            )
        )
    return found


def markdown(results: list[Result], found: list[Target]) -> str:
    lines = [
        "| backend | users | scenario | req/s | p50 ms | p99 ms | errors | CPU ms/req "
        "server (db) | cores busy: server / db / other | RSS MiB (peak) |",
        "|---|--:|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        lines.append(
            f"| {r.backend} | {r.users:,} | {r.title} | {r.rps:,.0f} | {r.p50_ms:.2f} "
            f"| {r.p99_ms:.2f} | {r.errors} | {r.server_ms:.2f}"
            + (f" ({r.database_ms:.2f})" if r.database_ms else "")
            + f" | {r.server_cpu:.0%} / {r.database_cpu:.0%} / {r.other_cpu:.0%} "
            f"| {r.rss_mib:.0f} ({r.hwm_mib:.0f}) |"
        )
    lines += ["", "| backend | target | limit | measured | result |", "|---|---|---|---|---|"]
    for t in found:
        verdict = "PASS" if t.passed else "FAIL"
        lines.append(f"| {t.backend} | {t.name} | {t.limit} | {t.measured} | {verdict} |")
    return "\n".join(lines)
