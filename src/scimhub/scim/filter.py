"""The filter grammar of RFC 7644 §3.4.2.2 and the PATCH path grammar of §3.5.2.

`parse_filter` and `parse_path` turn text into a small immutable AST. Names keep the case
the client wrote; they are resolved case-insensitively against a schema later (RFC 7643
§2.1). Operators, `and`, `or`, `not`, `true`, `false` and `null` are case-insensitive
(ABNF literals are, RFC 5234 §2.3).

Leniencies that real IdPs need (see docs/architecture.md, "Protocol quirks"):
- `emails[type eq "work"].value eq "x"` (Entra) is read as
  `emails[type eq "work" and value eq "x"]`.
- an unquoted bare word as a comparison value is read as a string (an old Microsoft
  sample sends `externalId eq jyoung`).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

from scimhub.scim.errors import InvalidFilter, InvalidPath, ScimError
from scimhub.scim.jsontext import parse

COMPARE_OPS = frozenset({"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"})

Scalar = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class AttrPath:
    """`[urn:]attr[.sub]` as written. Inside a value filter, `attr` names a
    sub-attribute of the enclosing multi-valued attribute and `urn` is None."""

    urn: str | None
    attr: str
    sub: str | None = None

    def __str__(self) -> str:
        text = f"{self.urn}:{self.attr}" if self.urn else self.attr
        return f"{text}.{self.sub}" if self.sub else text


@dataclass(frozen=True, slots=True)
class Compare:
    path: AttrPath
    op: str  # one of COMPARE_OPS, lower case
    value: Scalar


@dataclass(frozen=True, slots=True)
class Present:
    path: AttrPath


@dataclass(frozen=True, slots=True)
class And:
    left: Filter
    right: Filter


@dataclass(frozen=True, slots=True)
class Or:
    left: Filter
    right: Filter


@dataclass(frozen=True, slots=True)
class Not:
    expr: Filter


@dataclass(frozen=True, slots=True)
class ValuePath:
    """`attr[filter]`: true when one element of `attr` satisfies `filter`, whose paths
    are relative to that element."""

    path: AttrPath
    filter: Filter


Filter = Compare | Present | And | Or | Not | ValuePath


@dataclass(frozen=True, slots=True)
class PatchPath:
    """RFC 7644 §3.5.2 `PATH = attrPath / valuePath [subAttr]`.

    `attr` is the attribute path (its `sub` set for `name.givenName`); `filter` is the
    value filter of `emails[type eq "work"]`; `sub` is the sub-attribute after the
    bracket (`.value`)."""

    attr: AttrPath
    filter: Filter | None = None
    sub: str | None = None


# -- lexer --------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    \s*(?:
      (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<punct>[()\[\]])
    | (?P<word>[^\s()\[\]"]+)
    )""",
    re.VERBOSE,
)
# RFC 7644 §3.10 / RFC 7643 §2.1: ATTRNAME = ALPHA *(nameChar); ASCII only ($ref allowed).
_NAME = re.compile(r"^\$?[A-Za-z][\w-]*$", re.ASCII)
# RFC 7159 §6 number (ASCII digits only).
_NUMBER = re.compile(r"^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$", re.ASCII)
# Bounds that keep every AST walk (==, hash, SQL compile, render) far from Python's
# recursion limit; a filter past them is a 400, never a 500.
MAX_NESTING = 32  # parentheses, `not (...)`, `[...]`
MAX_DEPTH = 200  # depth of the resulting AST (a chain of N `and`s is N deep)


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # "string", "punct", "word", "end"
    text: str
    pos: int


def _tokenize(text: str, error: type[ScimError]) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    end = len(text.rstrip())  # not `text[pos:].strip()` per token: that is quadratic
    while pos < end:
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise error(f"unexpected character at position {pos}: {text[pos : pos + 10]!r}")
        kind = m.lastgroup
        assert kind is not None
        tokens.append(_Tok(kind, m.group(kind), m.start(kind)))
        pos = m.end()
    tokens.append(_Tok("end", "", len(text)))
    return tokens


def parse_attr_path(text: str, error: type[ScimError] = InvalidFilter) -> AttrPath:
    """`[urn:]attr[.sub]`. A URN's own dots (`2.0`) are part of it: the attribute starts
    after the last colon (RFC 7644 §3.10)."""
    urn: str | None = None
    rest = text
    if ":" in text:
        urn, _, rest = text.rpartition(":")
        if not urn.lower().startswith("urn:") or not urn[4:]:
            raise error(f"invalid attribute path {text!r}")
    parts = rest.split(".")
    if len(parts) > 2 or not all(_NAME.match(p) for p in parts):
        raise error(f"invalid attribute path {text!r}")
    return AttrPath(urn, parts[0], parts[1] if len(parts) == 2 else None)


def _parse_value(tok: _Tok, error: type[ScimError]) -> Scalar:
    if tok.kind == "string":
        try:
            value = parse(tok.text)
        except ValueError as exc:
            raise error(f"invalid string literal at position {tok.pos}") from exc
        assert isinstance(value, str)
        if "\x00" in value:
            # No stored value holds U+0000 (see resource.normalize_scalar).
            raise error(f"a NUL character in the string at position {tok.pos}")
        return value
    if tok.kind != "word":
        raise error(f"expected a value at position {tok.pos}")
    lowered = tok.text.lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    if lowered == "null":
        return None
    if _NUMBER.match(tok.text):
        try:
            if not any(c in tok.text for c in ".eE"):
                return int(tok.text)  # exact, however long (up to Python's digit limit)
            number = float(tok.text)
        except ValueError as exc:  # more digits than int() converts
            raise error(f"number out of range at position {tok.pos}") from exc
        if not math.isfinite(number):
            raise error(f"number out of range at position {tok.pos}")
        return number
    # Leniency: a bare word is a string (`externalId eq jyoung`).
    return tok.text


# -- parser -------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str, error: type[ScimError]) -> None:
        self.text = text
        self.error = error
        self.tokens = _tokenize(text, error)
        self.i = 0
        self.nesting = 0

    def enter(self) -> None:
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise self.error(f"the filter nests more than {MAX_NESTING} levels deep")

    @property
    def tok(self) -> _Tok:
        return self.tokens[self.i]

    def take(self) -> _Tok:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def keyword(self, *words: str) -> str | None:
        tok = self.tok
        if tok.kind == "word" and tok.text.lower() in words:
            self.i += 1
            return tok.text.lower()
        return None

    def expect(self, punct: str) -> None:
        tok = self.take()
        if tok.kind != "punct" or tok.text != punct:
            found = tok.text or "end of filter"
            raise self.error(f"expected {punct!r} at position {tok.pos}, found {found!r}")

    # FILTER with precedence: or < and < not/atom
    def parse_or(self, inner: bool) -> Filter:
        left = self.parse_and(inner)
        while self.keyword("or"):
            left = Or(left, self.parse_and(inner))
        return left

    def parse_and(self, inner: bool) -> Filter:
        left = self.parse_unary(inner)
        while self.keyword("and"):
            left = And(left, self.parse_unary(inner))
        return left

    def parse_unary(self, inner: bool) -> Filter:
        tok = self.tok
        if tok.kind == "word" and tok.text.lower() == "not":
            nxt = self.tokens[self.i + 1]
            if nxt.kind == "punct" and nxt.text == "(":
                self.i += 2
                self.enter()
                expr = self.parse_or(inner)
                self.expect(")")
                self.nesting -= 1
                return Not(expr)
        if tok.kind == "punct" and tok.text == "(":
            self.i += 1
            self.enter()
            expr = self.parse_or(inner)
            self.expect(")")
            self.nesting -= 1
            return expr
        return self.parse_attr_exp(inner)

    def parse_attr_exp(self, inner: bool) -> Filter:
        tok = self.take()
        if tok.kind != "word":
            found = tok.text or "end of filter"
            raise self.error(f"expected an attribute path at position {tok.pos}, found {found!r}")
        path = parse_attr_path(tok.text, self.error)
        nxt = self.tok
        if nxt.kind == "punct" and nxt.text == "[":
            if inner:
                raise self.error("value filters cannot be nested")
            if path.sub is not None:
                raise self.error(f"a value filter applies to an attribute, not {path}")
            self.i += 1
            self.enter()
            value_filter = self.parse_or(inner=True)
            self.expect("]")
            self.nesting -= 1
            after = self.tok
            # Entra: `emails[type eq "work"].value eq "x"`
            if after.kind == "word" and after.text.startswith("."):
                self.i += 1
                sub = after.text[1:]
                if not _NAME.match(sub):
                    raise self.error(f"invalid sub-attribute {after.text!r}")
                tail = self.parse_operator(AttrPath(None, sub))
                return ValuePath(path, And(value_filter, tail))
            return ValuePath(path, value_filter)
        if inner and path.urn is not None:
            raise self.error("paths inside a value filter are sub-attribute names")
        return self.parse_operator(path)

    def parse_operator(self, path: AttrPath) -> Filter:
        op_tok = self.take()
        op = op_tok.text.lower() if op_tok.kind == "word" else ""
        if op == "pr":
            return Present(path)
        if op not in COMPARE_OPS:
            found = op_tok.text or "end of filter"
            raise self.error(
                f"expected an operator after {path} at position {op_tok.pos}, found {found!r}"
            )
        return Compare(path, op, _parse_value(self.take(), self.error))

    def done(self, result: Filter) -> Filter:
        if self.tok.kind != "end":
            raise self.error(f"unexpected {self.tok.text!r} at position {self.tok.pos}")
        if _depth(result) > MAX_DEPTH:
            raise self.error(f"the filter has more than {MAX_DEPTH} nested terms")
        return result


def _depth(f: Filter) -> int:
    """The depth of an AST, without recursion (it may be too deep to recurse into)."""
    deepest = 0
    stack: list[tuple[Filter, int]] = [(f, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(node, And | Or):
            stack.append((node.left, depth + 1))
            stack.append((node.right, depth + 1))
        elif isinstance(node, Not):
            stack.append((node.expr, depth + 1))
        elif isinstance(node, ValuePath):
            stack.append((node.filter, depth + 1))
    return deepest


def parse_filter(text: str) -> Filter:
    """Parse a `filter` query parameter; raises `InvalidFilter` (400)."""
    if not text or not text.strip():
        raise InvalidFilter("the filter is empty")
    parser = _Parser(text, InvalidFilter)
    return parser.done(parser.parse_or(inner=False))


def parse_value_filter(text: str, error: type[ScimError] = InvalidFilter) -> Filter:
    """Parse the inside of a value path's brackets (paths relative to the element)."""
    parser = _Parser(text, error)
    return parser.done(parser.parse_or(inner=True))


def parse_path(text: str) -> PatchPath:
    """Parse a PATCH `path` (RFC 7644 §3.5.2); raises `InvalidPath` (400)."""
    text = text.strip()
    if not text:
        raise InvalidPath("the path is empty")
    bracket = text.find("[")
    if bracket < 0:
        return PatchPath(parse_attr_path(text, InvalidPath))
    close = text.rfind("]")
    if close < bracket:
        raise InvalidPath(f"unbalanced '[' in path {text!r}")
    attr = parse_attr_path(text[:bracket], InvalidPath)
    if attr.sub is not None:
        raise InvalidPath(f"a value filter applies to an attribute, not {attr}")
    value_filter = parse_value_filter(text[bracket + 1 : close], InvalidPath)
    tail = text[close + 1 :]
    sub: str | None = None
    if tail:
        if not tail.startswith(".") or not _NAME.match(tail[1:]):
            raise InvalidPath(f"invalid sub-attribute after value filter in {text!r}")
        sub = tail[1:]
    return PatchPath(attr, value_filter, sub)


# -- rendering ----------------------------------------------------------------------------


def render_value(value: Scalar) -> str:
    """A comparison value as filter text (RFC 7644 §3.4.2.2 compValue: JSON literals)."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("a filter value must be a finite number")
    return repr(value)


def render_filter(f: Filter) -> str:
    """Canonical filter text: `parse_filter(render_filter(f)) == f` for every AST the
    parser produces. Operators are lower case and parentheses appear only where the
    precedence `not` > `and` > `or` (and left associativity) needs them. Used to
    fingerprint queries for cursors (RFC 9865) and in logs."""
    if isinstance(f, Compare):
        return f"{f.path} {f.op} {render_value(f.value)}"
    if isinstance(f, Present):
        return f"{f.path} pr"
    if isinstance(f, Not):
        return f"not ({render_filter(f.expr)})"
    if isinstance(f, ValuePath):
        return f"{f.path}[{render_filter(f.filter)}]"
    if isinstance(f, And):
        # `and` binds tighter than `or`; a right-nested `and` needs parentheses too.
        left = _group(f.left, Or)
        right = _group(f.right, (And, Or))
        return f"{left} and {right}"
    left = render_filter(f.left)
    right = _group(f.right, Or)
    return f"{left} or {right}"


def _group(f: Filter, kinds: type | tuple[type, ...]) -> str:
    text = render_filter(f)
    return f"({text})" if isinstance(f, kinds) else text
