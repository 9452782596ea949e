"""JSON access in SQL, one class per dialect: SQLite's JSON1 functions (`json_extract`,
`json_type`, `json_each`) and PostgreSQL's jsonb operators (`#>>`, `jsonb_typeof`,
`jsonb_array_elements`).

A *doc* is an SQL expression holding a JSON document (the `data` column, or one element
of an array); *keys* is a path of object keys from it. Keys are schema names (canonical
attribute names and schema URNs, which contain ':' and '.'), rendered inline and quoted.
Every predicate returned here is two-valued (never SQL NULL), so NOT is its complement."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause

Expr = ColumnElement[Any]
Pred = ColumnElement[bool]


@dataclass(frozen=True, slots=True)
class Elements:
    """The elements of a JSON array as a table (`source`), each element as a doc
    (`doc`; an empty object for an element that is not an object, so reading a
    sub-attribute of it gives NULL), and its position (`ord`, increasing)."""

    source: FromClause
    doc: Expr
    ord: Expr


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _coalesce_false(pred: Pred) -> Pred:
    return sa.func.coalesce(pred, sa.false())


class JsonSql:
    dialect: str = ""

    def text(self, doc: Expr, keys: Sequence[str]) -> Expr:
        """The value at `keys` as SQL text (strings), NULL when absent or null."""
        raise NotImplementedError

    def is_true(self, doc: Expr, keys: Sequence[str]) -> Pred:
        raise NotImplementedError

    def is_false(self, doc: Expr, keys: Sequence[str]) -> Pred:
        raise NotImplementedError

    def is_nonempty_object(self, doc: Expr, keys: Sequence[str]) -> Pred:
        raise NotImplementedError

    def is_nonempty_array(self, doc: Expr, keys: Sequence[str]) -> Pred:
        raise NotImplementedError

    def sub_doc(self, doc: Expr, keys: Sequence[str]) -> Expr:
        """The (object) value at `keys` as a doc usable with the other methods."""
        raise NotImplementedError

    def elements(self, doc: Expr, keys: Sequence[str]) -> Elements:
        """The elements of the array at `keys`; none when it is absent or not an array."""
        raise NotImplementedError

    def sort_bool(self, doc: Expr, keys: Sequence[str]) -> Expr:
        """A sortable form of a boolean (false < true), NULL when absent."""
        raise NotImplementedError


class SqliteJson(JsonSql):
    dialect = "sqlite"

    @staticmethod
    def path(keys: Sequence[str]) -> Expr:
        # $."urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"."department"
        return sa.literal_column(_sql_string("$" + "".join(f'."{k}"' for k in keys)))

    def _type(self, doc: Expr, keys: Sequence[str]) -> Expr:
        # 'null', 'true', 'false', 'integer', 'real', 'text', 'array', 'object'; NULL if absent
        return sa.func.json_type(doc, self.path(keys))

    def text(self, doc: Expr, keys: Sequence[str]) -> Expr:
        return sa.func.json_extract(doc, self.path(keys))

    def is_true(self, doc: Expr, keys: Sequence[str]) -> Pred:
        return _coalesce_false(self._type(doc, keys) == "true")

    def is_false(self, doc: Expr, keys: Sequence[str]) -> Pred:
        return _coalesce_false(self._type(doc, keys) == "false")

    def is_nonempty_object(self, doc: Expr, keys: Sequence[str]) -> Pred:
        return _coalesce_false(
            sa.and_(self._type(doc, keys) == "object", self.text(doc, keys) != "{}")
        )

    def is_nonempty_array(self, doc: Expr, keys: Sequence[str]) -> Pred:
        # json_array_length: 0 for a non-array, NULL when the path is absent.
        return sa.func.coalesce(sa.func.json_array_length(doc, self.path(keys)), 0) > 0

    def sub_doc(self, doc: Expr, keys: Sequence[str]) -> Expr:
        return self.text(doc, keys)  # an object comes back as its JSON text

    def elements(self, doc: Expr, keys: Sequence[str]) -> Elements:
        # json_each over a non-array yields its members (object) or itself (scalar):
        # only take it when it is an array. `value` of an object element is its JSON
        # text; of a string element the bare string, which is no JSON: swap in '{}'.
        array = sa.case(
            (self._type(doc, keys) == "array", self.text(doc, keys)), else_=sa.literal("[]")
        )
        source = sa.func.json_each(array).table_valued("value", "type", "key").alias("e")
        element = sa.case((source.c.type == "object", source.c.value), else_=sa.literal("{}"))
        return Elements(source, element, source.c.key)

    def sort_bool(self, doc: Expr, keys: Sequence[str]) -> Expr:
        return sa.case((self._type(doc, keys) == "true", 1), (self._type(doc, keys) == "false", 0))


class PostgresJson(JsonSql):
    dialect = "postgresql"

    @staticmethod
    def path(keys: Sequence[str]) -> Expr:
        # A text[] literal: '{"urn:…:User","department"}'
        inner = ",".join('"' + k.replace("\\", "\\\\").replace('"', '\\"') + '"' for k in keys)
        return sa.literal_column(_sql_string("{" + inner + "}"))

    def _value(self, doc: Expr, keys: Sequence[str]) -> Expr:
        return doc.op("#>")(self.path(keys))

    def text(self, doc: Expr, keys: Sequence[str]) -> Expr:
        return doc.op("#>>")(self.path(keys))

    def _is(self, doc: Expr, keys: Sequence[str], literal: str) -> Pred:
        return _coalesce_false(self._value(doc, keys) == sa.literal_column(f"'{literal}'::jsonb"))

    def is_true(self, doc: Expr, keys: Sequence[str]) -> Pred:
        return self._is(doc, keys, "true")

    def is_false(self, doc: Expr, keys: Sequence[str]) -> Pred:
        return self._is(doc, keys, "false")

    def is_nonempty_object(self, doc: Expr, keys: Sequence[str]) -> Pred:
        value = self._value(doc, keys)
        return _coalesce_false(
            sa.and_(
                sa.func.jsonb_typeof(value) == "object",
                value != sa.literal_column("'{}'::jsonb"),
            )
        )

    def is_nonempty_array(self, doc: Expr, keys: Sequence[str]) -> Pred:
        value = self._value(doc, keys)
        return _coalesce_false(
            sa.and_(
                sa.func.jsonb_typeof(value) == "array",
                sa.func.jsonb_array_length(value) > 0,
            )
        )

    def sub_doc(self, doc: Expr, keys: Sequence[str]) -> Expr:
        return self._value(doc, keys)

    def elements(self, doc: Expr, keys: Sequence[str]) -> Elements:
        value = self._value(doc, keys)
        # jsonb_array_elements raises on a non-array: give it an empty one instead.
        array = sa.case(
            (sa.func.jsonb_typeof(value) == "array", value),
            else_=sa.literal_column("'[]'::jsonb"),
        )
        fn = sa.func.jsonb_array_elements(array)
        source = fn.table_valued("value", with_ordinality="ord").render_derived().alias("e")
        # `->>` on a non-object element gives NULL, like an absent sub-attribute.
        return Elements(source, source.c.value, source.c.ord)

    def sort_bool(self, doc: Expr, keys: Sequence[str]) -> Expr:
        return sa.case((self.is_true(doc, keys), 1), (self.is_false(doc, keys), 0))


def json_sql(dialect: str) -> JsonSql:
    if dialect == "sqlite":
        return SqliteJson()
    if dialect == "postgresql":
        return PostgresJson()
    raise ValueError(f"unsupported database dialect {dialect!r}")
