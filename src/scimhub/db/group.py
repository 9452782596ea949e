"""Group commit: the small SCIM writes that the event loop runs at the same time share
one SQLite transaction and one COMMIT, each still atomic on its own.

On SQLite the writes of a process run one at a time on the event loop (web/scim.py),
and a POST /Users spends a fifth of its CPU in BEGIN and COMMIT, mostly writing its
pages to the WAL: with four clients, four creates committed together cost about 20%
less each (docs/benchmarks.md). So a write that finds a group open joins it, runs at
once on the group's connection, and its response waits for the group's COMMIT, which
runs once a turn of the loop brings no new member (see `_tick`).

Its price: each answer also waits for the others of its group (with four clients, a
few milliseconds), and the in-memory token usage counts a request of a spoiled group
twice (tenancy/tokens.py, `UsageRecorder`).

Each request stays atomic without savepoints (inside one, SQLite keeps a statement
journal that costs more than the COMMIT saved). A request that fails before it changed
a row, as a refused or invalid request does, leaves the group as it was, and its error
is answered after the COMMIT like any other outcome. A request that fails after it
changed a row spoils the group: the group is rolled back and every one of its requests
runs again alone, in a transaction of its own, in the order they came. That is what
they would have done without the group, so their answers are the same, and nothing a
failed request wrote survives. SQLite counts the rows each statement changes
(`total_changes`; a statement that fails changes none), which is how a request's
changes are seen."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlalchemy import Connection, RootTransaction

if TYPE_CHECKING:
    from scimhub.db.engine import Database

T = TypeVar("T")

# A group closes at the latest when it holds this many requests, so that one burst
# cannot hold every response back for long.
MAX_GROUP = 32
# ...and at the latest after this many turns of the event loop.
MAX_TURNS = 8


@dataclass(slots=True)
class WriteGroup:
    """The transaction a group shares, open on SQLite's writer connection."""

    connection: Connection
    transaction: RootTransaction
    spoiled: bool = False
    # What the members may share because it cannot change within the one transaction
    # (web/scim.py: the token check; no SCIM write changes a token, tenant or SSO row).
    memo: dict[Any, Any] = field(default_factory=dict)

    def changes(self) -> int:
        # The rows changed on this connection since it opened; a failed statement adds none.
        return int(self.connection.connection.driver_connection.total_changes)  # type: ignore[union-attr]

    @contextmanager
    def member(self) -> Iterator[Connection]:
        """One request's (or one `write()`'s) part of the group: a failure after it
        changed a row spoils the group."""
        before = self.changes()
        try:
            yield self.connection
        except BaseException:
            if self.changes() != before:
                self.spoiled = True
            raise


@dataclass(slots=True)
class _Job(Generic[T]):
    run: Callable[[], T]
    future: asyncio.Future[T]
    ok: bool = False
    value: Any = None


@dataclass(slots=True)
class _Open:
    group: WriteGroup
    jobs: list[_Job[Any]] = field(default_factory=list)
    closed: bool = False
    turns: int = 0  # of the event loop since the group opened
    seen: int = 0  # members at the last turn


class GroupCommit:
    """Runs write requests on the event loop's thread, grouping those that come together."""

    def __init__(self, db: Database, *, max_group: int = MAX_GROUP) -> None:
        self.db = db
        self.max_group = max_group
        self._open: _Open | None = None

    async def run(self, work: Callable[[], T]) -> T:
        """`work()` (which opens its transactions through `db`) as a member of the open
        group or of a new one; its result or error once the group has committed."""
        loop = asyncio.get_running_loop()
        current = self._open
        if current is None:
            try:
                group = self.db.open_group()
            except Exception:
                # The lock or the BEGIN failed: the request alone meets the same error
                # and answers it as it always does.
                return work()
            current = self._open = _Open(group)
            loop.call_soon(self._tick, current, loop)
        job: _Job[T] = _Job(work, loop.create_future())
        current.jobs.append(job)
        with self.db.joined(current.group):
            _attempt(job)
        if len(current.jobs) >= self.max_group:
            self._close(current)
        return await job.future

    def _tick(self, current: _Open, loop: asyncio.AbstractEventLoop) -> None:
        # Once per turn of the loop. The loop runs its ready callbacks before it reads
        # the sockets again, so a request that arrived while the group's first one ran
        # joins on the turn after next: the group stays open for two turns, and then
        # for as long as each turn brings a new member.
        if current.closed:
            return
        joined = len(current.jobs)
        if (current.turns < 2 or joined > current.seen) and current.turns < MAX_TURNS:
            current.turns += 1
            current.seen = joined
            loop.call_soon(self._tick, current, loop)
            return
        self._close(current)

    def _close(self, current: _Open) -> None:
        if current.closed:
            return
        current.closed = True
        if self._open is current:
            self._open = None
        spoiled = current.group.spoiled
        try:
            self.db.close_group(current.group, commit=not spoiled)
        except Exception:
            spoiled = True
        if spoiled:
            # Rolled back: each request again, alone, in its own transaction.
            for job in current.jobs:
                _attempt(job)
        for job in current.jobs:
            if job.future.done():  # the client went away
                continue
            if job.ok:
                job.future.set_result(job.value)
            else:
                job.future.set_exception(job.value)


def _attempt(job: _Job[Any]) -> None:
    try:
        job.value, job.ok = job.run(), True
    except Exception as error:
        job.value, job.ok = error, False
