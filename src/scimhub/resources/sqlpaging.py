"""What the SQL stores share: the clock, chunking, the search query with its ordering,
index paging and keyset paging (RFC 7644 §3.4.2.3-4; RFC 9865 cursors are built on
`last_key`), and `SqlStore`, their reads (get, search, the related attribute)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

import sqlalchemy as sa
from sqlalchemy import Connection, Row, Table
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from scimhub.db.sqlfilter import compile_filter
from scimhub.db.sqlsort import SortKey, sort_key
from scimhub.resources.store import Page, SearchResult, Sort, Stored
from scimhub.scim.errors import InvalidCursor, InvalidValue
from scimhub.scim.filter import Filter
from scimhub.scim.schema import ResourceType

T = TypeVar("T")
AnyRow = Row[*tuple[Any, ...]]
# Rows per multi-row INSERT / IN list: well under SQLite's 32766 bound parameters.
CHUNK = 500


def utcnow() -> datetime:
    return datetime.now(UTC)


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def storable_id(id: str) -> bool:
    """False for an id no row can have: PostgreSQL text cannot hold U+0000 (and would
    raise rather than find nothing)."""
    return "\x00" not in id


def check_storable(value: Any, where: str = "") -> None:
    """InvalidValue for a string with U+0000 anywhere in a data dict: PostgreSQL text and
    jsonb cannot store it (SQLite could; refused on both alike)."""
    if isinstance(value, str):
        if "\x00" in value:
            raise InvalidValue(f"{where or 'a value'} contains a NUL character")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_storable(key, where)
            check_storable(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for item in value:
            check_storable(item, where)


def violates(exc: IntegrityError, constraint: str, columns: str) -> bool:
    """Whether an IntegrityError is the named unique constraint: PostgreSQL names it,
    SQLite lists its columns ("UNIQUE constraint failed: users.tenant_id, …")."""
    diag = getattr(exc.orig, "diag", None)
    if diag is not None and getattr(diag, "constraint_name", None):
        return bool(diag.constraint_name == constraint)
    return columns in str(exc.orig)


@dataclass(slots=True)
class Found:
    rows: list[AnyRow]
    total: int | None
    last_key: tuple[Any, ...] | None
    has_more: bool


def _key_value(key: SortKey, value: Any) -> Any:
    """A sort value as it goes into `last_key` (JSON-serializable)."""
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _bind_key(key: SortKey, value: Any) -> Any:
    if value is None or not key.datetime:
        return value
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise InvalidCursor("the cursor does not belong to this query") from exc


def _keyset(
    key: SortKey | None, pk: ColumnElement[Any], after: tuple[Any, ...], descending: bool
) -> ColumnElement[bool]:
    """Rows strictly after `after` in the order of `_order_by`. A missing value (NULL)
    is greater than every value (RFC 7644 §3.4.2.3: last ascending, first descending)."""
    if key is None:
        if len(after) != 1 or not isinstance(after[0], int):
            raise InvalidCursor("the cursor does not belong to this query")
        first: ColumnElement[bool] = pk < after[0] if descending else pk > after[0]
        return first
    if len(after) != 2 or not isinstance(after[1], int):
        raise InvalidCursor("the cursor does not belong to this query")
    value, last_pk = _bind_key(key, after[0]), after[1]
    expr = key.expr
    bound = sa.literal(value, expr.type) if value is not None else None

    def beyond(a: Any, b: Any) -> Any:
        return a < b if descending else a > b

    after_value: ColumnElement[bool]
    if key.unique and bound is not None:
        after_value = beyond(expr, bound)
    elif bound is not None:
        after_value = sa.or_(beyond(expr, bound), sa.and_(expr == bound, beyond(pk, last_pk)))
    else:
        after_value = sa.false()
    if not key.nullable:
        return after_value
    if value is None:
        # Among the NULLs (by pk); descending, the non-NULLs come after them.
        among_nulls = sa.and_(expr.is_(None), beyond(pk, last_pk))
        return sa.or_(among_nulls, expr.is_not(None)) if descending else among_nulls
    if descending:
        return sa.and_(expr.is_not(None), after_value)
    return sa.or_(expr.is_(None), sa.and_(expr.is_not(None), after_value))


def _order_by(
    key: SortKey | None, pk: ColumnElement[Any], descending: bool
) -> list[ColumnElement[Any]]:
    """ORDER BY for a sort key, pk breaking ties: the descending order is the exact
    reverse of the ascending one, so one index serves both directions."""
    parts: list[ColumnElement[Any]] = []
    if key is not None:
        if key.nullable:
            parts.append(key.expr.is_(None))  # NULLs (no value) greatest
        parts.append(key.expr)
    if key is None or not key.unique:
        parts.append(pk)
    return [p.desc() if descending else p.asc() for p in parts]


def search(
    conn: Connection,
    table: Table,
    columns: Sequence[ColumnElement[Any]],
    where: Sequence[ColumnElement[bool]],
    key: SortKey | None,
    descending: bool,
    page: Page,
) -> Found:
    pk = table.c.pk
    total: int | None = None
    if page.count_total:
        count = sa.select(sa.func.count()).select_from(table).where(*where)
        total = conn.execute(count).scalar_one()
    key_col = key.expr.label("sort_key") if key is not None else sa.null().label("sort_key")
    query = sa.select(*columns, pk.label("pk_"), key_col).where(*where)
    if page.after is not None:
        query = query.where(_keyset(key, pk, tuple(page.after), descending))
    elif page.offset:
        query = query.offset(page.offset)
    query = query.order_by(*_order_by(key, pk, descending)).limit(max(page.limit, 0) + 1)
    rows = list(conn.execute(query))
    has_more = len(rows) > page.limit
    rows = rows[: max(page.limit, 0)]
    last_key: tuple[Any, ...] | None = None
    if rows:
        last = rows[-1]
        last_key = (last.pk_,) if key is None else (_key_value(key, last.sort_key), last.pk_)
    return Found(rows, total, last_key, has_more)


class SqlStore(ABC):
    """The reads the user and group stores share. A subclass names its table, the
    columns a `Stored` is built from, its resource type, and `related`: the attribute
    kept in a table of its own (a user's `groups`, a group's `members`), which it loads
    for many ids at once in `_related_rows`."""

    table: ClassVar[Table]
    columns: ClassVar[tuple[ColumnElement[Any], ...]]
    rt: ClassVar[ResourceType]
    related: ClassVar[str]  # a `Stored` field: "groups" or "members"

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        # Built once: a statement costs more Python to build than SQLite takes to run.
        t = self.table
        by_id = sa.select(*self.columns).where(
            t.c.tenant_id == sa.bindparam("tenant_id"), t.c.id == sa.bindparam("id")
        )
        self._by_id = by_id
        self._by_id_locked = by_id.with_for_update()

    def _stored(self, row: AnyRow) -> Stored:
        return Stored(row.id, row.version, row.created, row.last_modified, row.data)

    @abstractmethod
    def _related_rows(
        self, conn: Connection, tenant_id: str, ids: Sequence[str]
    ) -> dict[str, list[dict[str, Any]]]: ...

    def get(
        self,
        conn: Connection,
        tenant_id: str,
        id: str,
        *,
        related: bool = False,
        lock: bool = False,
    ) -> Stored | None:
        """`lock`: for a read-modify-write, hold the row (FOR UPDATE on PostgreSQL) so
        concurrent writers of one resource queue instead of losing the version race;
        SQLite's write transactions already hold the database."""
        if not storable_id(id):
            return None
        statement = self._by_id_locked if lock else self._by_id
        row = conn.execute(statement, {"tenant_id": tenant_id, "id": id}).first()
        if row is None:
            return None
        stored = self._stored(row)
        if related:
            self.fill_related(conn, tenant_id, [stored])
        return stored

    def search(
        self,
        conn: Connection,
        tenant_id: str,
        filter: Filter | None,
        sort: Sort | None,
        page: Page,
        *,
        related: bool = False,
    ) -> SearchResult:
        where = [self.table.c.tenant_id == tenant_id]
        if filter is not None:
            where.append(compile_filter(self.rt, filter, dialect=self.dialect, tenant_id=tenant_id))
        key = sort_key(self.rt, sort.path, dialect=self.dialect) if sort else None
        descending = bool(sort and sort.descending)
        found = search(conn, self.table, self.columns, where, key, descending, page)
        items = [self._stored(row) for row in found.rows]
        if related:
            self.fill_related(conn, tenant_id, items)
        return SearchResult(items, found.total, found.last_key, found.has_more)

    def load_related(
        self, conn: Connection, tenant_id: str, ids: Sequence[str]
    ) -> dict[str, list[dict[str, Any]]]:
        """The related attribute of each id, in one query ([] for an id with none)."""
        result: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
        wanted = [i for i in result if storable_id(i)]
        if wanted:
            result.update(self._related_rows(conn, tenant_id, wanted))
        return result

    def fill_related(self, conn: Connection, tenant_id: str, items: Sequence[Stored]) -> None:
        """Sets the related attribute of the items that have none loaded, in one query."""
        missing = [s for s in items if getattr(s, self.related) is None]
        if missing:
            by_id = self.load_related(conn, tenant_id, [s.id for s in missing])
            for item in missing:
                setattr(item, self.related, by_id[item.id])
