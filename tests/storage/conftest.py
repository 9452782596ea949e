"""Fixtures of the storage contract suite (runs on SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from scimhub.db.engine import Database
from scimhub.resources.groups import GroupStore
from scimhub.resources.users import UserStore


@pytest.fixture
def user_store(db: Database) -> UserStore:
    return UserStore(db.dialect)


@pytest.fixture
def group_store(db: Database) -> GroupStore:
    return GroupStore(db.dialect)


class Statements:
    """The SQL statements a block runs, with their parameters."""

    def __init__(self) -> None:
        self.executed: list[tuple[str, Any]] = []

    def __len__(self) -> int:
        return len(self.executed)


@contextmanager
def recorded(db: Database) -> Iterator[Statements]:
    statements = Statements()

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            statements.executed.append((statement, parameters))

    for engine in db.engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        for engine in db.engines:
            event.remove(engine, "before_cursor_execute", record)
