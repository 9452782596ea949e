"""db/group.py: writes that the event loop runs together share one SQLite transaction,
and each stays atomic: a request that fails after it wrote makes the group run again,
each request alone. Real SQLite files; the jobs are the kind of work a SCIM request does
(`db.request(write=True)` around its statements)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError

from scimhub.db.engine import Database
from scimhub.db.group import GroupCommit
from scimhub.db.migrate import upgrade


def _committed_slugs(db: Database) -> list[str]:
    """What another connection sees: only committed rows."""
    path = db.engine.url.database
    assert path is not None
    with closing(sqlite3.connect(path)) as conn:
        return [row[0] for row in conn.execute("SELECT slug FROM tenants ORDER BY slug")]


class Jobs:
    """Write jobs that insert a tenant row each, counting how often each one ran."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.runs: Counter[str] = Counter()

    def insert(self, slug: str, *, then: Callable[[], Any] | None = None) -> Callable[[], str]:
        def job() -> str:
            self.runs[slug] += 1
            with self.db.request(write=True) as conn:
                conn.exec_driver_sql(
                    "INSERT INTO tenants (id, slug, name, created_at) "
                    "VALUES (?, ?, ?, '2026-01-01 00:00:00')",
                    (f"id-{slug}", slug, slug),
                )
                if then is not None:
                    then()
            return slug

        return job

    def refuse(self, name: str) -> Callable[[], str]:
        """Fails before it writes anything, as a refused or invalid request does."""

        def job() -> str:
            self.runs[name] += 1
            with self.db.request(write=True) as conn:
                conn.exec_driver_sql("SELECT count(*) FROM tenants").scalar_one()
                raise LookupError(f"{name} refused")

        return job


async def _together(groups: GroupCommit, jobs: list[Callable[[], str]]) -> list[Any]:
    return await asyncio.gather(*(groups.run(job) for job in jobs), return_exceptions=True)


def test_writes_that_come_together_share_one_commit(
    sqlite_db: Database, group_closes: list[bool]
) -> None:
    jobs = Jobs(sqlite_db)
    slugs = [f"t{i}" for i in range(6)]
    results = asyncio.run(_together(GroupCommit(sqlite_db), [jobs.insert(s) for s in slugs]))
    assert results == slugs
    assert group_closes == [True]
    assert _committed_slugs(sqlite_db) == slugs
    assert all(jobs.runs[s] == 1 for s in slugs)


def test_each_answer_waits_for_the_commit(sqlite_db: Database) -> None:
    # While the group is open, another connection sees none of its writes; once a
    # member's answer is back, all of them are committed.
    seen_while_open: list[list[str]] = []
    jobs = Jobs(sqlite_db)

    async def scenario() -> list[str]:
        groups = GroupCommit(sqlite_db)
        first = asyncio.ensure_future(groups.run(jobs.insert("a")))
        second = asyncio.ensure_future(
            groups.run(
                jobs.insert("b", then=lambda: seen_while_open.append(_committed_slugs(sqlite_db)))
            )
        )
        await first
        after_first = _committed_slugs(sqlite_db)
        await second
        return after_first

    assert asyncio.run(scenario()) == ["a", "b"]
    assert seen_while_open == [[]]


def test_a_request_that_fails_before_writing_leaves_the_group(
    sqlite_db: Database, group_closes: list[bool]
) -> None:
    jobs = Jobs(sqlite_db)
    results = asyncio.run(
        _together(GroupCommit(sqlite_db), [jobs.insert("a"), jobs.refuse("bad"), jobs.insert("c")])
    )
    assert results[0] == "a" and results[2] == "c"
    assert isinstance(results[1], LookupError) and str(results[1]) == "bad refused"
    assert group_closes == [True]  # one commit, no second round
    assert jobs.runs == Counter({"a": 1, "bad": 1, "c": 1})
    assert _committed_slugs(sqlite_db) == ["a", "c"]


def test_a_request_that_fails_after_writing_spoils_the_group(
    sqlite_db: Database, group_closes: list[bool]
) -> None:
    # Its row must not survive; the others' must, once each, as if each had run alone.
    jobs = Jobs(sqlite_db)

    def fail() -> None:
        raise RuntimeError("broken after the insert")

    results = asyncio.run(
        _together(
            GroupCommit(sqlite_db),
            [jobs.insert("a"), jobs.insert("bad", then=fail), jobs.insert("c")],
        )
    )
    assert results[0] == "a" and results[2] == "c"
    assert isinstance(results[1], RuntimeError)
    assert group_closes == [False]  # the group rolled back; then each ran in its own transaction
    assert jobs.runs == Counter({"a": 2, "bad": 2, "c": 2})
    assert _committed_slugs(sqlite_db) == ["a", "c"]


def test_a_failed_commit_runs_each_request_alone(sqlite_db: Database) -> None:
    # A real failure at COMMIT: a deferred foreign key that does not hold.
    jobs = Jobs(sqlite_db)

    def dangling() -> str:
        jobs.runs["dangling"] += 1
        with sqlite_db.request(write=True) as conn:
            conn.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
            conn.exec_driver_sql(
                "INSERT INTO audit_log (tenant_id, at, source, operation, outcome) "
                "VALUES ('no-such-tenant', '2026-01-01 00:00:00', 'scim', 'x', 'success')"
            )
        return "dangling"

    results = asyncio.run(
        _together(GroupCommit(sqlite_db), [jobs.insert("a"), dangling, jobs.insert("c")])
    )
    assert results[0] == "a" and results[2] == "c"
    assert isinstance(results[1], IntegrityError)
    assert jobs.runs == Counter({"a": 2, "dangling": 2, "c": 2})
    assert _committed_slugs(sqlite_db) == ["a", "c"]
    with closing(sqlite3.connect(str(sqlite_db.engine.url.database))) as conn:
        assert conn.execute("SELECT count(*) FROM audit_log").fetchone() == (0,)


def test_a_group_closes_when_full(sqlite_db: Database, group_closes: list[bool]) -> None:
    jobs = Jobs(sqlite_db)
    slugs = [f"t{i}" for i in range(7)]
    groups = GroupCommit(sqlite_db, max_group=3)
    assert asyncio.run(_together(groups, [jobs.insert(s) for s in slugs])) == slugs
    assert group_closes == [True, True, True]  # 3 + 3 + 1
    assert _committed_slugs(sqlite_db) == slugs


def test_a_write_groups_with_those_that_arrive_while_it_runs(
    sqlite_db: Database, group_closes: list[bool]
) -> None:
    # The group stays open for the writes started on the next turns of the loop (as
    # requests read from the sockets meanwhile are), not only those started with it.
    jobs = Jobs(sqlite_db)

    async def scenario() -> None:
        groups = GroupCommit(sqlite_db)

        async def later(slug: str, turns: int) -> str:
            for _ in range(turns):
                await asyncio.sleep(0)
            return await groups.run(jobs.insert(slug))

        await asyncio.gather(later("a", 0), later("b", 1), later("c", 2))

    asyncio.run(scenario())
    assert group_closes == [True]
    assert _committed_slugs(sqlite_db) == ["a", "b", "c"]


def test_a_write_outside_the_group_on_its_thread_is_refused(sqlite_db: Database) -> None:
    # The thread holds the write lock for the group: waiting for it would hang forever.
    async def scenario() -> None:
        groups = GroupCommit(sqlite_db)
        pending = asyncio.ensure_future(groups.run(Jobs(sqlite_db).insert("a")))
        await asyncio.sleep(0)
        with pytest.raises(RuntimeError, match="outside the open write group"), sqlite_db.write():
            pass
        await pending

    asyncio.run(scenario())
    assert _committed_slugs(sqlite_db) == ["a"]


def test_only_sqlite_on_a_file_groups_writes(database_url: str, tmp_path: Path) -> None:
    db = Database(database_url)
    try:
        assert db.groups_writes == (db.dialect == "sqlite")
    finally:
        db.dispose()
    memory = Database("sqlite://")
    try:
        assert not memory.groups_writes
    finally:
        memory.dispose()


def test_a_group_of_one_is_a_plain_transaction(tmp_path: Path) -> None:
    path = tmp_path / "one.db"
    upgrade(f"sqlite:///{path}")
    db = Database(f"sqlite:///{path}")
    try:
        assert asyncio.run(GroupCommit(db).run(Jobs(db).insert("solo"))) == "solo"
        assert _committed_slugs(db) == ["solo"]
    finally:
        db.dispose()


def test_a_second_group_on_the_same_thread_is_refused(sqlite_db: Database) -> None:
    group = sqlite_db.open_group()
    try:
        with pytest.raises(RuntimeError, match="open on this thread already"):
            sqlite_db.open_group()
    finally:
        sqlite_db.close_group(group, commit=False)
    # The lock was released: the next group opens.
    sqlite_db.close_group(sqlite_db.open_group(), commit=True)
