"""A throwaway PostgreSQL cluster for the benchmark (the approach of tests/conftest.py).

`initdb` refuses root, so as root the cluster runs as the `postgres` user. It listens on
127.0.0.1 only, on a free port. Settings are PostgreSQL's defaults except:
`synchronous_commit=off` (a commit does not wait for its WAL flush: the same durability
as scimhub's SQLite in WAL mode with `synchronous=NORMAL`), `shared_buffers=1GB` (the
1,000,000-user database fits in memory, as SQLite's does in the page cache) and
`max_wal_size=4GB` (no checkpoint storm while loading). fsync stays on."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from procfs import children_cpu_seconds
from sqlalchemy import create_engine, text

from scimhub.db.engine import normalize_url

SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "synchronous_commit": "off",
    "shared_buffers": "1GB",
    "max_wal_size": "4GB",
    "max_connections": "100",
}


def _pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    raise FileNotFoundError(f"{name} not found: install the PostgreSQL server binaries")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """Started by the constructor; `stop()` stops it and removes its files."""

    def __init__(self) -> None:
        initdb, self.pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
        self.root = Path(tempfile.mkdtemp(prefix="scimhub-bench-pg-"))
        self.data = self.root / "data"
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            import pwd

            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.port = free_port()
        init = [initdb, "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8"]
        self._run([*init, "--locale=C.UTF-8", "--no-sync"])
        options = " ".join(f"-c {k}={v}" for k, v in SETTINGS.items())
        options += f" -c port={self.port} -c unix_socket_directories={self.root}"
        start = [self.pg_ctl, "-D", str(self.data), "-o", options, "-l", str(self.root / "log")]
        self._run([*start, "-w", "-t", "60", "start"])
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}"

    def _run(self, args: list[str]) -> None:
        subprocess.run(
            [*self.as_user, *args], check=True, cwd=self.root, capture_output=True, text=True
        )

    def create_database(self, name: str) -> str:
        """A new empty database; returns its URL."""
        engine = create_engine(normalize_url(f"{self.url}/postgres"), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            engine.dispose()
        return f"{self.url}/{name}"

    def cpu_seconds(self) -> float:
        """CPU time of the postmaster and the processes it started (backends, ...)."""
        postmaster = int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
        return children_cpu_seconds(postmaster)

    def version(self) -> str:
        out = subprocess.run([self.pg_ctl, "--version"], capture_output=True, text=True)
        return out.stdout.strip()

    def stop(self) -> None:
        try:
            self._run([self.pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "stop"])
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
