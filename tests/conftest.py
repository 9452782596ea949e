"""Shared fixtures: databases on both backends.

- `database_url` (parametrized, ids "sqlite" and "postgresql"): a fresh, migrated, empty
  database per test. SQLite: a copy of a template file migrated once per session.
  PostgreSQL: `CREATE DATABASE … TEMPLATE` of a database migrated once per session.
- `db`: a `Database` on it (disposed after the test).
- `tenant`: a created tenant ("acme"); `other_tenant`: a second one ("globex"). Both
  pass every SCIM gate: active, SCIM included and enabled, SSO connection active.
- `pg_server_url`: the PostgreSQL server (a `postgresql://` URL without a database).

PostgreSQL: `SCIMHUB_TEST_POSTGRES_URL` (a server URL with a superuser, database part
ignored) selects an existing server; otherwise each pytest process (each xdist worker)
starts a throwaway cluster with `initdb`/`pg_ctl` in a temporary directory (as the
`postgres` user when running as root, since initdb refuses root), on a free port on
127.0.0.1, fsync off, trust auth, and stops it at the end. Without initdb the
PostgreSQL cases are skipped."""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, closing, contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from scimhub.db import migrate
from scimhub.db.engine import Database, normalize_url
from scimhub.db.group import WriteGroup
from scimhub.tenancy.sso import set_connection, set_state
from scimhub.tenancy.tenants import Tenant, create_tenant

BACKENDS = ["sqlite", "postgresql"]


# -- a throwaway PostgreSQL cluster -------------------------------------------------------


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Cluster:
    def __init__(self) -> None:
        initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
        if not initdb or not pg_ctl:
            raise FileNotFoundError("initdb/pg_ctl not found")
        self.pg_ctl = pg_ctl
        # On tmpfs when there is one: CREATE DATABASE … TEMPLATE copies files and
        # checkpoints, several times faster in memory.
        shm = Path("/dev/shm")
        base = str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
        self.root = Path(tempfile.mkdtemp(prefix="scimhub-pg-", dir=base))
        self.data = self.root / "data"
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            # initdb refuses to run as root: run the cluster as `postgres`.
            import pwd

            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        initdb_args = ["-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8"]
        self._run([initdb, *initdb_args, "--locale=C.UTF-8", "--no-sync"])
        # The port is free when chosen but another process may take it before the
        # server binds it: try a few.
        for attempt in range(5):
            self.port = _free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -c port={self.port} "
                f"-c unix_socket_directories={self.root} -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
            )
            log = str(self.root / "log")
            try:
                self._run([pg_ctl, "-D", str(self.data), "-o", options, "-l", log, "-w",
                           "-t", "60", "start"])  # fmt: skip
                break
            except subprocess.CalledProcessError:
                if attempt == 4:
                    raise
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}"

    def _run(self, args: list[str]) -> None:
        subprocess.run(
            [*self.as_user, *args], check=True, cwd=self.root, capture_output=True, text=True
        )

    def stop(self) -> None:
        try:
            self._run([self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop"])
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    given = os.environ.get("SCIMHUB_TEST_POSTGRES_URL")
    if given:
        yield str(make_url(given).set(database=None).render_as_string(hide_password=False))
        return
    try:
        cluster = _Cluster()
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        pytest.skip(f"no PostgreSQL available: {detail}")
    try:
        yield cluster.url
    finally:
        cluster.stop()


def _admin(server_url: str, sql: str) -> None:
    engine = create_engine(normalize_url(f"{server_url}/postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


_worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_template(pg_server_url: str) -> Iterator[str]:
    """Name of a migrated, empty template database (per xdist worker)."""
    name = f"scimhub_tpl_{_worker}_{os.getpid()}"
    _admin(pg_server_url, f'DROP DATABASE IF EXISTS "{name}"')
    _admin(pg_server_url, f'CREATE DATABASE "{name}"')
    migrate.upgrade(f"{pg_server_url}/{name}")
    yield name
    _admin(pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    # Everything into the main file (WAL mode), so copying that one file is enough.
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "scimhub.db"
        shutil.copyfile(template, target)
        yield f"sqlite:///{target}"
        return
    server: str = request.getfixturevalue("pg_server_url")
    template_name: str = request.getfixturevalue("pg_template")
    name = f"scimhub_t_{_worker}_{os.getpid()}_{next(_counter)}"
    _admin(server, f'CREATE DATABASE "{name}" TEMPLATE "{template_name}" STRATEGY FILE_COPY')
    yield f"{server}/{name}"
    _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_db(sqlite_template: Path, tmp_path: Path) -> Iterator[Database]:
    """A fresh, migrated SQLite file alone (for what only SQLite has: write groups)."""
    target = tmp_path / "scimhub.db"
    shutil.copyfile(sqlite_template, target)
    database = Database(f"sqlite:///{target}")
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def group_closes(sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Each write group `sqlite_db` closes (db/group.py), in order: True for a commit,
    False for a rollback."""
    seen: list[bool] = []
    real = sqlite_db.close_group

    def close_group(group: WriteGroup, *, commit: bool) -> None:
        seen.append(commit)
        real(group, commit=commit)

    monkeypatch.setattr(sqlite_db, "close_group", close_group)
    return seen


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url, pool_size=4)
    try:
        yield database
    finally:
        database.dispose()


def eligible_tenant(db: Database, slug: str, name: str) -> Tenant:
    """A tenant that passes every SCIM gate (its SSO connection is active)."""
    with db.write() as conn:
        created = create_tenant(conn, slug, name)
        set_connection(conn, created.id, protocol="saml", idp_id=f"https://idp.example.com/{slug}")
        set_state(conn, created.id, "active")
        return created


@pytest.fixture
def tenant(db: Database) -> Tenant:
    return eligible_tenant(db, "acme", "Acme Corp")


@pytest.fixture
def sqlite_acme(sqlite_db: Database) -> Tenant:
    """Tenant acme of `sqlite_db`, past every SCIM gate."""
    return eligible_tenant(sqlite_db, "acme", "Acme Corp")


@pytest.fixture
def other_tenant(db: Database) -> Tenant:
    return eligible_tenant(db, "globex", "Globex")


# -- `scimhub serve` as a real process -----------------------------------------------------

ServeProcess = Callable[..., AbstractContextManager[str]]


@contextmanager
def _serve_process(
    url: str, *, env: Mapping[str, str] | None = None, workers: int | None = None
) -> Iterator[str]:
    """`scimhub serve` as its own process on a free port; yields its root URL once
    /healthz answers; SIGTERM at the end (a graceful shutdown)."""
    port = _free_port()
    command = [sys.executable, "-m", "scimhub", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--database-url", url]
    if workers is not None:
        command += ["--workers", str(workers)]
    process = subprocess.Popen(
        command,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    root = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{root}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read().decode() if process.stdout else ""
                pytest.fail(f"scimhub serve did not start:\n{output}")
            time.sleep(0.1)
        yield root
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


@pytest.fixture
def serve_process() -> ServeProcess:
    """Starts `scimhub serve` processes: `with serve_process(url, env=..., workers=...)`."""
    return _serve_process
