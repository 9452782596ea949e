"""The leaves of a compiled filter: one single value, wherever it is stored (a column,
a JSON path, a constant), and the comparisons on it (RFC 7644 §3.4.2.2). See
`scimhub.db.sqlfilter` for the semantics. Every predicate is two-valued."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from scimhub.scim.errors import InvalidFilter
from scimhub.scim.filter import Scalar
from scimhub.scim.resource import parse_datetime as parse_xsd_datetime
from scimhub.scim.schema import Attribute

Expr = ColumnElement[Any]
Pred = ColumnElement[bool]

ORDERING = frozenset({"gt", "ge", "lt", "le"})
SUBSTRING = frozenset({"co", "sw", "ew"})
LIKE_ESCAPE = "/"


# -- SQLite: Unicode lower() ------------------------------------------------------------


def _py_lower(value: Any) -> Any:
    if value is None:
        return None
    return value.lower() if isinstance(value, str) else str(value).lower()


def register_sqlite_functions(dbapi_conn: Any) -> None:
    """SQLite's built-in lower() folds ASCII only; Python's folds Unicode and is what
    the `*_ci` columns and filter values use. Replace it on every SQLite connection."""
    dbapi_conn.create_function("lower", 1, _py_lower, deterministic=True)


# -- values --------------------------------------------------------------------------------


def like_escape(text: str) -> str:
    return (
        text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", LIKE_ESCAPE + "%")
        .replace("_", LIKE_ESCAPE + "_")
    )


def parse_datetime(value: Scalar, what: str) -> datetime:
    """An xsd:dateTime (as written) or anything `datetime.fromisoformat` reads; a value
    without zone is UTC. The same operands `scim.evaluate` accepts."""
    if not isinstance(value, str):
        raise InvalidFilter(f"{what} needs a dateTime string, not {value!r}")
    parsed = parse_xsd_datetime(value)
    if parsed is None:
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise InvalidFilter(f"{what}: {value!r} is not an ISO 8601 dateTime") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def as_string(value: Scalar, what: str) -> str:
    if isinstance(value, str):
        if "\x00" in value:
            # PostgreSQL text cannot hold U+0000 (nor do stored values: they are refused).
            raise InvalidFilter(f"{what}: the value contains a NUL character")
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # a bare number where a string is expected
    raise InvalidFilter(f"{what} needs a string value, not {value!r}")


def as_bool(value: Scalar, what: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise InvalidFilter(f"{what} needs true or false, not {value!r}")


# -- leaves: one single value, wherever it is stored ------------------------------------


@dataclass(frozen=True, slots=True)
class Leaf:
    """A single-valued attribute as SQL. kind "string": `value` is text, NULL when absent
    (`folded`: already `str.lower`ed). "boolean": `is_true`/`is_false` predicates.
    "datetime": `value` is a UTCDateTime column. "const": `const` is a Python value."""

    name: str
    kind: str
    value: Expr | None = None
    case_exact: bool = False
    folded: bool = False
    is_true: Pred | None = None
    is_false: Pred | None = None
    const: Any = None
    binary: bool = False  # RFC 7644 §3.4.2.2: no ordering on binary values


def string_leaf(name: str, value: Expr, attr: Attribute, *, folded: bool = False) -> Leaf:
    return Leaf(
        name,
        "string",
        value,
        case_exact=attr.case_exact,
        folded=folded,
        binary=attr.type == "binary",
    )


def bool_column(name: str, col: Expr) -> Leaf:
    return Leaf(name, "boolean", col, is_true=col.is_(True), is_false=col.is_(False))


class Comparisons:
    """Comparisons on leaves, per dialect."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect

    def order(self, expr: Expr) -> Expr:
        # Code point order on PostgreSQL whatever the database's default collation.
        return sa.collate(expr, "C") if self.dialect == "postgresql" else expr

    def present(self, leaf: Leaf) -> Pred:
        if leaf.kind == "const":
            return sa.true() if leaf.const not in (None, "") else sa.false()
        if leaf.kind == "boolean":
            assert leaf.is_true is not None and leaf.is_false is not None
            return sa.or_(leaf.is_true, leaf.is_false)
        assert leaf.value is not None
        if leaf.kind == "datetime":
            return leaf.value.is_not(None)
        return sa.and_(leaf.value.is_not(None), leaf.value != "")

    def compare(self, leaf: Leaf, op: str, value: Scalar) -> Pred:
        """`op` is eq or an ordering/substring operator; `value` is not None."""
        what = f"{leaf.name} {op}"
        if leaf.kind == "boolean":
            if op != "eq":
                raise InvalidFilter(f"{leaf.name} is a boolean: only eq, ne and pr apply")
            wanted = as_bool(value, what)
            pred = leaf.is_true if wanted else leaf.is_false
            assert pred is not None
            return pred
        if leaf.kind == "datetime":
            return self._datetime(leaf, op, parse_datetime(value, what))
        if leaf.kind == "const":
            return sa.true() if python_compare(leaf, op, as_string(value, what)) else sa.false()
        return self._string(leaf, op, as_string(value, what))

    def _datetime(self, leaf: Leaf, op: str, when: datetime) -> Pred:
        if op in SUBSTRING:
            raise InvalidFilter(f"{leaf.name} is a dateTime: {op} does not apply")
        col = leaf.value
        assert col is not None
        bound = sa.literal(when, col.type)
        ops: dict[str, Callable[[], Pred]] = {
            "eq": lambda: col == bound,
            "gt": lambda: col > bound,
            "ge": lambda: col >= bound,
            "lt": lambda: col < bound,
            "le": lambda: col <= bound,
        }
        cond = ops[op]()
        if self.dialect == "sqlite" and op in ("gt", "ge"):
            # "Changed since T" (delta syncs) selects few rows: tell SQLite, which would
            # otherwise walk the whole tenant in pk order rather than use the index.
            cond = sa.func.likelihood(cond, sa.literal_column("0.05"))
        return sa.and_(col.is_not(None), cond)

    def _string(self, leaf: Leaf, op: str, text: str) -> Pred:
        if leaf.binary and op in ORDERING:
            raise InvalidFilter(f"{leaf.name} is binary: {op} does not apply")
        col = leaf.value
        assert col is not None
        if leaf.case_exact:
            lhs, rhs = col, text
        else:
            lhs = col if leaf.folded else sa.func.lower(col)
            rhs = text.lower()
        if op == "eq":
            cond: Pred = lhs == rhs
        elif op == "co":
            cond = lhs.like(f"%{like_escape(rhs)}%", escape=LIKE_ESCAPE)
        elif op == "sw":
            cond = lhs.like(f"{like_escape(rhs)}%", escape=LIKE_ESCAPE)
        elif op == "ew":
            cond = lhs.like(f"%{like_escape(rhs)}", escape=LIKE_ESCAPE)
        else:
            ordered = self.order(lhs)
            cond = {
                "gt": ordered > rhs,
                "ge": ordered >= rhs,
                "lt": ordered < rhs,
                "le": ordered <= rhs,
            }[op]
        return sa.and_(col.is_not(None), cond)


def python_compare(leaf: Leaf, op: str, text: str) -> bool:
    value = leaf.const
    if not isinstance(value, str):
        return False
    if not leaf.case_exact:
        value, text = value.lower(), text.lower()
    return {
        "eq": value == text,
        "co": text in value,
        "sw": value.startswith(text),
        "ew": value.endswith(text),
        "gt": value > text,
        "ge": value >= text,
        "lt": value < text,
        "le": value <= text,
    }[op]
