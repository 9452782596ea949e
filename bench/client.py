"""A closed-loop HTTP/1.1 load generator: a few keep-alive connections on raw asyncio
streams (uvloop when installed), each sending its next request as soon as the previous
response is read. A Python HTTP library would cap at a few thousand requests per second
and become the bottleneck; this one costs a few tens of microseconds per request.

Each connection runs a *session*: a generator that yields `Request`s and is sent each
`Response`, so a scenario can follow a cursor or alternate add/remove. Requests that
start in the warm-up are not counted; the run stops at its deadline or after
`max_requests`, whichever comes first. Only 127.0.0.1 is ever a target."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field

HOST = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    body: bytes | None = None
    expect: int = 200


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes


Session = Generator[Request, Response, None]
SessionFactory = Callable[[int], Session]  # connection number → its session
Probe = Callable[[], dict[str, float]]  # named CPU-seconds counters


@dataclass(slots=True)
class Stats:
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    first_error: str = ""
    # Busy fraction of one core over the measured window: "client" (this process) and
    # each counter of the probe (e.g. "server", "database", "machine").
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile of the successful requests' latencies, in ms."""
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
        return ordered[rank]


def _encode(request: Request, port: int, token: str) -> bytes:
    lines = [
        f"{request.method} {request.path} HTTP/1.1",
        f"Host: {HOST}:{port}",
        f"Authorization: Bearer {token}",
        "Accept: application/scim+json",
    ]
    if request.body is not None:
        lines.append("Content-Type: application/scim+json")
        lines.append(f"Content-Length: {len(request.body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode()
    return head + request.body if request.body is not None else head


async def _read_response(reader: asyncio.StreamReader) -> Response:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lowered = head.lower()
    at = lowered.find(b"\r\ncontent-length:")
    if at >= 0:
        end = lowered.index(b"\r\n", at + 2)
        length = int(lowered[at + 17 : end])
        return Response(status, await reader.readexactly(length) if length else b"")
    if b"\r\ntransfer-encoding: chunked" in lowered:
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            parts.append(await reader.readexactly(size + 2))
            if size == 0:
                return Response(status, b"".join(p[:-2] for p in parts))
    return Response(status, b"")  # 204, 304


@dataclass(slots=True)
class _Run:
    port: int
    token: str
    measure_from: float
    until: float
    budget: int  # requests left to send, across connections
    stats: Stats


async def _connection(run: _Run, session: Session) -> None:
    reader, writer = await asyncio.open_connection(HOST, run.port)
    try:
        request = next(session)
        while run.budget > 0:
            started = time.perf_counter()
            if started >= run.until:
                break
            run.budget -= 1
            writer.write(_encode(request, run.port, run.token))
            response = await _read_response(reader)
            done = time.perf_counter()
            if started >= run.measure_from and done <= run.until:
                stats = run.stats
                stats.requests += 1
                if response.status == request.expect:
                    stats.latencies_ms.append((done - started) * 1000)
                else:
                    stats.errors += 1
                    if not stats.first_error:
                        detail = response.body[:300].decode(errors="replace")
                        stats.first_error = f"{request.method} {request.path[:120]} → "
                        stats.first_error += f"{response.status} {detail}"
            request = session.send(response)
    except StopIteration:
        pass
    finally:
        session.close()
        writer.close()


def _sample(probe: Probe) -> dict[str, float]:
    return {"client": time.process_time(), **probe()}


async def _sample_at(moment: float, probe: Probe, out: dict[str, float]) -> None:
    await asyncio.sleep(max(0.0, moment - time.perf_counter()))
    out.update(_sample(probe))


async def _run(
    factory: SessionFactory,
    port: int,
    token: str,
    concurrency: int,
    warmup: float,
    duration: float,
    max_requests: int,
    probe: Probe,
) -> Stats:
    now = time.perf_counter()
    run = _Run(port, token, now + warmup, now + warmup + duration, max_requests, Stats())
    first: dict[str, float] = {}
    last: dict[str, float] = {}
    samplers = [
        asyncio.create_task(_sample_at(run.measure_from, probe, first)),
        asyncio.create_task(_sample_at(run.until, probe, last)),
    ]
    await asyncio.gather(*(_connection(run, factory(i)) for i in range(concurrency)))
    finished = time.perf_counter()
    for task in samplers:
        task.cancel()  # when the run stopped early (budget, or the sessions ended)
    last = last or _sample(probe)
    first = first or last
    window = max(1e-9, min(finished, run.until) - run.measure_from)
    run.stats.seconds = window
    run.stats.cpu = {name: (last[name] - first[name]) / window for name in last}
    return run.stats


def measure(
    factory: SessionFactory,
    *,
    port: int,
    token: str,
    concurrency: int,
    warmup: float,
    duration: float,
    max_requests: int = 5_000_000,
    probe: Probe = dict,
) -> Stats:
    """Run `concurrency` sessions for `warmup + duration` seconds; statistics over the
    requests that started after the warm-up and finished before the deadline. `probe`
    gives CPU-seconds counters, sampled at both ends of the measured window."""
    coroutine = _run(factory, port, token, concurrency, warmup, duration, max_requests, probe)
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def request_once(request: Request, *, port: int, token: str) -> tuple[Response, float]:
    """One request on a fresh connection: its response and latency in ms."""

    async def once() -> tuple[Response, float]:
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            started = time.perf_counter()
            writer.write(_encode(request, port, token))
            response = await _read_response(reader)
            return response, (time.perf_counter() - started) * 1000
        finally:
            writer.close()

    return asyncio.run(once())
