"""Engines for SQLite and PostgreSQL, and the read and write transactions of a request."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, RootTransaction, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from scimhub.db.checkpoint import FALLBACK_PAGES, WalCheckpointer
from scimhub.db.group import WriteGroup
from scimhub.db.sqlleaf import register_sqlite_functions
from scimhub.scim import jsontext


def normalize_url(url: str) -> str:
    """Use psycopg 3 for `postgresql://` and `postgres://` URLs."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


# How often the server checkpoints the WAL (db/checkpoint.py). A checkpoint syncs the
# WAL to disk first, and the writer stalls while that write-back runs (most likely on
# WAL pages under write-back): with a checkpoint a second the server sat idle 11-14% of
# the time under a stream of creates, 2-4% with no checkpoints at all. Every 250 ms,
# each sync is a quarter as long and the idle share 4-7% (docs/benchmarks.md). A
# checkpoint with no new frames to copy syncs nothing.
CHECKPOINT_INTERVAL_SECONDS = 0.25

# The page cache of the one connection that writes (see `Database`), in KiB. SQLite's
# default (2 MiB) holds little more than the interior pages of a large tenant's indexes.
WRITER_CACHE_KIB = 32_768


def _sqlite_setup(engine: Engine, *, cache_kib: int | None = None) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # The driver must not open transactions behind our back: we emit BEGIN ourselves.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if cache_kib is not None:
            cur.execute(f"PRAGMA cache_size=-{int(cache_kib)}")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        # Checkpoints run in the background (db/checkpoint.py); this is the fallback.
        cur.execute(f"PRAGMA wal_autocheckpoint={FALLBACK_PAGES}")
        # LIKE must be case-sensitive so that caseExact attributes compare exactly;
        # case-insensitive comparisons lower() both sides explicitly.
        cur.execute("PRAGMA case_sensitive_like=ON")
        cur.close()
        register_sqlite_functions(dbapi_conn)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the lock up front (BEGIN IMMEDIATE) so two writers queue instead
        # of failing with SQLITE_BUSY when a read lock upgrades. Sent on the driver
        # connection: it runs for every transaction, and SQLAlchemy's statement path
        # costs more than SQLite takes to begin.
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.connection.driver_connection.execute(_BEGIN[mode])  # type: ignore[union-attr]


# The JSON columns' text (scim/jsontext.py): orjson, with the standard library where
# they would differ.
_JSON_CODEC: dict[str, Any] = {
    "json_serializer": jsontext.to_text,
    "json_deserializer": jsontext.read,
}

_BEGIN = {"DEFERRED": "BEGIN DEFERRED", "IMMEDIATE": "BEGIN IMMEDIATE"}


class Database:
    """An engine and the two kinds of transaction a request uses.

    `request(write=...)` opens one transaction for a whole request on this thread: the
    `read()` and `write()` blocks inside it join that transaction instead of opening
    their own, so a SCIM request authenticates and does its work in one transaction
    (one BEGIN, one COMMIT). A `write()` inside a read-only request is an error."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = normalize_url(url)
        parsed = make_url(self.url)
        self.dialect = parsed.get_backend_name()
        on_file = bool(parsed.database) and parsed.database != ":memory:"
        self._write_engine: Engine | None = None
        self._write_connection: Connection | None = None
        if self.dialect == "sqlite":
            if on_file:
                Path(str(parsed.database)).parent.mkdir(parents=True, exist_ok=True)
            self.engine = create_engine(
                self.url, connect_args={"check_same_thread": False}, **_JSON_CODEC
            )
            _sqlite_setup(self.engine)
            writer = self.engine
            if on_file:
                # Every write of this process goes through one connection (they hold the
                # lock below in turn anyway). In WAL mode a connection drops its whole
                # page cache when it finds that another connection has written since its
                # last transaction (https://sqlite.org/wal.html#the_wal_index_file): with
                # writes spread over a pool, every write began on a cold cache and read
                # its pages back with one system call each (~55 per POST /Users). The
                # writer's cache stays warm; only other processes' writes reset it.
                writer = self._write_engine = create_engine(
                    self.url,
                    connect_args={"check_same_thread": False},
                    poolclass=StaticPool,
                    **_JSON_CODEC,
                )
                _sqlite_setup(writer, cache_kib=WRITER_CACHE_KIB)
            self._writer: Engine = writer.execution_options(sqlite_begin="IMMEDIATE")
            # SQLite has one writer at a time. Threads of this process queue on a lock
            # that wakes the next one at once; left to SQLite, a blocked BEGIN IMMEDIATE
            # polls with sleeps of up to 100 ms (its busy handler), which idles the
            # server under concurrent writes. Other processes still meet busy_timeout.
            self._write_lock: AbstractContextManager[Any] = threading.Lock()
        else:
            self.engine = create_engine(
                self.url,
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_pre_ping=True,
                **_JSON_CODEC,
            )
            self._writer = self.engine
            # PostgreSQL runs writers concurrently; row locks order them.
            self._write_lock = nullcontext()
        self._ambient = threading.local()
        self._group_thread: int | None = None  # the thread whose write group is open
        self.checkpointer: WalCheckpointer | None = None
        if self.dialect == "sqlite" and on_file:
            self.checkpointer = WalCheckpointer(
                str(parsed.database), interval=CHECKPOINT_INTERVAL_SECONDS
            )

    @contextmanager
    def request(self, *, write: bool) -> Iterator[Connection]:
        """One transaction for everything this thread does until the block ends."""
        if getattr(self._ambient, "conn", None) is not None:
            raise RuntimeError("a request transaction is already open on this thread")
        with self._begin(write) as conn:
            self._ambient.conn, self._ambient.write = conn, write
            try:
                yield conn
            finally:
                self._ambient.conn = None

    @contextmanager
    def read(self) -> Iterator[Connection]:
        conn = getattr(self._ambient, "conn", None)
        if conn is not None:
            yield conn
            return
        with self._begin(False) as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        conn = getattr(self._ambient, "conn", None)
        if conn is not None:
            if not self._ambient.write:
                raise RuntimeError("a write inside a read-only request transaction")
            yield conn
            return
        with self._begin(True) as conn:
            yield conn

    @contextmanager
    def _begin(self, write: bool) -> Iterator[Connection]:
        group: WriteGroup | None = getattr(self._ambient, "group", None)
        if group is not None:
            # A member of a write group (db/group.py): its reads see the group's writes.
            with group.member() as conn:
                yield conn
            return
        if not write:
            with self.engine.begin() as conn:
                yield conn
            return
        if self._group_thread == threading.get_ident():
            # This thread holds the write lock for its open group: waiting for the lock
            # here would wait forever.
            raise RuntimeError("a write outside the open write group of its thread")
        with self._write_lock:
            if self._write_engine is None:
                with self._writer.begin() as conn:
                    yield conn
                return
            # SQLite's one writer connection stays checked out between transactions:
            # a pool checkout and a new `Connection` per write cost more than BEGIN.
            held = self._held_writer()
            transaction = held.begin()
            try:
                yield held
            except BaseException:
                transaction.rollback()
                raise
            _commit(held, transaction)

    def _held_writer(self) -> Connection:
        held = self._write_connection
        if held is None or held.closed or held.invalidated:
            assert self._write_engine is not None
            held = self._write_connection = self._writer.connect()
        return held

    @property
    def groups_writes(self) -> bool:
        """Whether `open_group` is available: SQLite on a file, with one writer connection."""
        return self._write_engine is not None

    def open_group(self) -> WriteGroup:
        """Takes the write lock and begins the transaction a write group shares; the
        lock is held until `close_group`. Call it, and everything of the group, on one
        thread (the event loop's)."""
        if self._write_engine is None:
            raise RuntimeError("write groups need SQLite on a file")
        if self._group_thread == threading.get_ident():
            raise RuntimeError("a write group is open on this thread already")
        self._write_lock.__enter__()
        try:
            held = self._held_writer()
            group = WriteGroup(held, held.begin())
        except BaseException:
            self._write_lock.__exit__(None, None, None)
            raise
        self._group_thread = threading.get_ident()
        return group

    def close_group(self, group: WriteGroup, *, commit: bool) -> None:
        """Commits (or rolls back) the group's transaction and releases the write lock.
        A failed commit leaves nothing written: the transaction is rolled back."""
        try:
            if commit:
                _commit(group.connection, group.transaction)
            else:
                group.transaction.rollback()
        finally:
            self._group_thread = None
            self._write_lock.__exit__(None, None, None)

    def group_memo(self) -> dict[Any, Any] | None:
        """The memo of the write group this thread runs in, None outside one."""
        group: WriteGroup | None = getattr(self._ambient, "group", None)
        return None if group is None else group.memo

    @contextmanager
    def joined(self, group: WriteGroup) -> Iterator[None]:
        """Runs the block as a member of `group`: its transactions on this thread
        (`request`, `read`, `write`) are the group's."""
        self._ambient.group = group
        try:
            yield
        finally:
            self._ambient.group = None

    @property
    def engines(self) -> tuple[Engine, ...]:
        """Every engine this database runs statements on (the SQLite writer's too)."""
        return (self.engine,) if self._write_engine is None else (self.engine, self._write_engine)

    def dispose(self) -> None:
        self.engine.dispose()
        with self._write_lock:
            if self._write_connection is not None:
                self._write_connection.close()
                self._write_connection = None
        if self._write_engine is not None:
            self._write_engine.dispose()


def _commit(conn: Connection, transaction: RootTransaction) -> None:
    """Commits; a failed COMMIT leaves nothing behind. SQLite may keep the transaction
    open when COMMIT fails (a deferred foreign key, SQLITE_FULL: "the transaction may or
    may not be rolled back", https://sqlite.org/lang_transaction.html), while
    SQLAlchemy takes it as ended: the next BEGIN on the connection would then fail."""
    try:
        transaction.commit()
    except BaseException:
        transaction.rollback()
        driver = conn.connection.driver_connection
        if getattr(driver, "in_transaction", False):
            driver.rollback()  # type: ignore[union-attr]
        raise
