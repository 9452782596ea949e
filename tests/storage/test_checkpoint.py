"""db/checkpoint.py: SQLite WAL checkpoints run in the background, not in a commit."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import sqlalchemy as sa

from scimhub.db.checkpoint import FALLBACK_PAGES
from scimhub.db.engine import Database
from scimhub.db.migrate import upgrade
from scimhub.db.tables import tenants
from scimhub.settings import Settings
from scimhub.tenancy.tenants import create_tenant
from scimhub.web.app import create_app


def _database(tmp_path: Path) -> tuple[Database, Path]:
    path = tmp_path / "scimhub.db"
    upgrade(f"sqlite:///{path}")
    return Database(f"sqlite:///{path}"), path


def _write(db: Database, n: int) -> None:
    for i in range(n):
        with db.write() as conn:
            create_tenant(conn, f"t{i}", f"Tenant {i}")


def _wal(path: Path) -> int:
    wal = Path(f"{path}-wal")
    return wal.stat().st_size if wal.exists() else 0


def test_request_connections_leave_checkpoints_to_the_background(tmp_path: Path) -> None:
    db, _ = _database(tmp_path)
    with db.read() as conn:
        pages = conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one()
    assert pages == FALLBACK_PAGES
    assert db.checkpointer is not None


def test_a_checkpoint_copies_the_wal_into_the_database(tmp_path: Path) -> None:
    db, _ = _database(tmp_path)
    assert db.checkpointer is not None
    _write(db, 20)
    busy, frames, done = db.checkpointer.checkpoint()
    assert busy == 0 and frames > 0 and done == frames


def test_stopping_checkpoints_everything_and_truncates_the_wal(tmp_path: Path) -> None:
    db, path = _database(tmp_path)
    assert db.checkpointer is not None
    db.checkpointer.start()
    _write(db, 20)
    assert _wal(path) > 0
    db.checkpointer.stop()
    assert _wal(path) == 0
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tenants)).scalar_one() == 20


def test_the_server_runs_the_checkpointer_for_its_lifetime(tmp_path: Path) -> None:
    path = tmp_path / "scimhub.db"
    upgrade(f"sqlite:///{path}")
    app = create_app(Settings(database_url=f"sqlite:///{path}"))
    db: Database = app.state.db

    async def serve() -> None:
        async with app.router.lifespan_context(app):
            _write(db, 20)
            assert _wal(path) > 0

    asyncio.run(serve())
    assert _wal(path) == 0
    assert os.path.exists(path)


def test_other_databases_have_no_checkpointer(database_url: str) -> None:
    if database_url.startswith("sqlite"):
        assert Database(database_url).checkpointer is not None
    else:
        assert Database(database_url).checkpointer is None
