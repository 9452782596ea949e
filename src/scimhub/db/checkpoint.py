"""SQLite WAL checkpoints in the background, off the request path.

In WAL mode a commit appends pages to the `-wal` file; a checkpoint copies them back
into the database file and syncs it to disk. SQLite's default runs the checkpoint inside
whichever commit crosses 1,000 WAL pages, so one request in a hundred pays the disk
sync while holding the write lock, and every writer waits behind it (it tripled the
mean commit time of a create here). Request connections are set to checkpoint only
past `FALLBACK_PAGES` (a safety net for processes without this thread, such as the
CLI); a running server checkpoints from this thread every `interval` seconds. PASSIVE
checkpoints never block readers or writers (https://sqlite.org/wal.html#ckpt)."""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger("scimhub.db")

# About 40 MB of WAL with 4 KiB pages before a request connection checkpoints itself.
FALLBACK_PAGES = 10_000


class WalCheckpointer:
    def __init__(self, path: str, interval: float) -> None:
        self.path = path
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def checkpoint(self, mode: str = "PASSIVE") -> tuple[int, int, int]:
        """One checkpoint: (busy, WAL frames, frames checkpointed), as SQLite reports."""
        if mode not in ("PASSIVE", "TRUNCATE"):
            raise ValueError(mode)
        conn = self._connect()
        try:
            busy, frames, done = conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
        finally:
            conn.close()
        return int(busy), int(frames), int(done)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30, isolation_level=None)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="scimhub-wal", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stops the thread, then checkpoints everything and truncates the WAL."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None
        try:
            self.checkpoint("TRUNCATE")
        except sqlite3.Error:
            log.exception("final WAL checkpoint failed")

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while not self._stop.wait(self.interval):
                try:
                    if conn is None:
                        conn = self._connect()
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                except sqlite3.Error:
                    # The next round retries; a request connection checkpoints past the
                    # fallback meanwhile, so the WAL cannot grow without bound.
                    log.exception("WAL checkpoint failed")
                    if conn is not None:
                        conn.close()
                        conn = None
        finally:
            if conn is not None:
                conn.close()
