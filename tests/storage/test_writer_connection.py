"""SQLite: every write of a process goes through one connection, whose page cache stays
warm (db/engine.py). In WAL mode a connection drops its page cache when another
connection has written since its last transaction."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from scimhub.db.engine import WRITER_CACHE_KIB, Database


def _driver_connection_of_a_write(db: Database) -> object:
    with db.write() as conn:
        return conn.connection.driver_connection


def test_writes_from_any_thread_share_one_connection(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'w.db'}")
    try:
        seen: list[object] = []

        def write() -> None:
            seen.append(_driver_connection_of_a_write(db))

        threads = [threading.Thread(target=write) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seen.append(_driver_connection_of_a_write(db))
        with db.request(write=True) as conn:
            seen.append(conn.connection.driver_connection)
        assert len(seen) == 6
        assert len({id(c) for c in seen}) == 1
        # Reads use the pool, not the writer's connection.
        with db.read() as conn:
            assert conn.connection.driver_connection is not seen[0]
    finally:
        db.dispose()


def test_the_writer_cache_is_larger_and_reads_see_its_commits(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'w.db'}")
    try:
        with db.write() as conn:
            assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -WRITER_CACHE_KIB
            conn.execute(text("CREATE TABLE t (v INTEGER)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
        with db.read() as conn:
            assert conn.execute(text("SELECT v FROM t")).scalar() == 1
            # SQLite's default for every other connection.
            assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -2000
    finally:
        db.dispose()


def test_a_failed_write_leaves_the_shared_connection_usable(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'w.db'}")
    try:
        with db.write() as conn:
            conn.execute(text("CREATE TABLE t (v INTEGER UNIQUE)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
        with pytest.raises(IntegrityError), db.write() as conn:
            conn.execute(text("INSERT INTO t VALUES (2)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))  # unique violation
        with db.write() as conn:
            conn.execute(text("INSERT INTO t VALUES (3)"))
        with db.read() as conn:
            assert list(conn.execute(text("SELECT v FROM t ORDER BY v")).scalars()) == [1, 3]
    finally:
        db.dispose()


def test_an_in_memory_database_keeps_one_engine() -> None:
    db = Database("sqlite:///:memory:")
    try:
        assert db.engines == (db.engine,)
    finally:
        db.dispose()
