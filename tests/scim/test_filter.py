"""The filter grammar (RFC 7644 §3.4.2.2) and PATCH path grammar (RFC 7644 §3.5.2)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scimhub.scim.errors import InvalidFilter, InvalidPath
from scimhub.scim.filter import (
    COMPARE_OPS,
    MAX_DEPTH,
    MAX_NESTING,
    And,
    AttrPath,
    Compare,
    Filter,
    Not,
    Or,
    PatchPath,
    Present,
    ValuePath,
    parse_filter,
    parse_path,
    render_filter,
)

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def p(attr: str, sub: str | None = None, urn: str | None = None) -> AttrPath:
    return AttrPath(urn, attr, sub)


def eq(path: AttrPath, value: Any) -> Compare:
    return Compare(path, "eq", value)


def pr(name: str) -> Present:
    return Present(p(name))


# -- RFC 7644 §3.4.2.2, Figure 2: every example filter -----------------------------------

RFC_EXAMPLES: list[tuple[str, Filter]] = [
    ('userName eq "bjensen"', eq(p("userName"), "bjensen")),
    ('name.familyName co "O\'Malley"', Compare(p("name", "familyName"), "co", "O'Malley")),
    ('userName sw "J"', Compare(p("userName"), "sw", "J")),
    (f'{USER}:userName sw "J"', Compare(p("userName", urn=USER), "sw", "J")),
    ("title pr", pr("title")),
    *(
        (
            f'meta.lastModified {op} "2011-05-13T04:42:34Z"',
            Compare(p("meta", "lastModified"), op, "2011-05-13T04:42:34Z"),
        )
        for op in ("gt", "ge", "lt", "le")
    ),
    ('title pr and userType eq "Employee"', And(pr("title"), eq(p("userType"), "Employee"))),
    ('title pr or userType eq "Intern"', Or(pr("title"), eq(p("userType"), "Intern"))),
    (f'schemas eq "{ENT}"', eq(p("schemas"), ENT)),
    (
        'userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")',
        And(
            eq(p("userType"), "Employee"),
            Or(
                Compare(p("emails"), "co", "example.com"),
                Compare(p("emails", "value"), "co", "example.org"),
            ),
        ),
    ),
    (
        'userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")',
        And(
            Compare(p("userType"), "ne", "Employee"),
            Not(
                Or(
                    Compare(p("emails"), "co", "example.com"),
                    Compare(p("emails", "value"), "co", "example.org"),
                )
            ),
        ),
    ),
    (
        'userType eq "Employee" and (emails.type eq "work")',
        And(eq(p("userType"), "Employee"), eq(p("emails", "type"), "work")),
    ),
    (
        'userType eq "Employee" and emails[type eq "work" and value co "@example.com"]',
        And(
            eq(p("userType"), "Employee"),
            ValuePath(
                p("emails"),
                And(eq(p("type"), "work"), Compare(p("value"), "co", "@example.com")),
            ),
        ),
    ),
    (
        'emails[type eq "work" and value co "@example.com"] or '
        'ims[type eq "xmpp" and value co "@foo.com"]',
        Or(
            ValuePath(
                p("emails"),
                And(eq(p("type"), "work"), Compare(p("value"), "co", "@example.com")),
            ),
            ValuePath(p("ims"), And(eq(p("type"), "xmpp"), Compare(p("value"), "co", "@foo.com"))),
        ),
    ),
]


@pytest.mark.parametrize(("text", "expected"), RFC_EXAMPLES, ids=[t for t, _ in RFC_EXAMPLES])
def test_rfc_example_filters(text: str, expected: Filter) -> None:
    assert parse_filter(text) == expected


# -- what IdPs send (docs: /work/shared/idp/behaviour.md §0.5, decoded) -------------------

IDP_FILTERS: list[tuple[str, Filter]] = [
    # Okta, Entra: userName lookup; Okta's spec test upper-cases the value.
    ('userName eq "x"', eq(p("userName"), "x")),
    ('userName eq "x@y"', eq(p("userName"), "x@y")),
    ('userName eq "ALICE@EXAMPLE.COM"', eq(p("userName"), "ALICE@EXAMPLE.COM")),
    # An old Microsoft sample: an unquoted value is read as a string.
    ("externalId eq jyoung", eq(p("externalId"), "jyoung")),
    # PingOne: lower-case attribute, capitalised operator, non-standard attribute.
    ('username Eq "bjensen"', eq(p("username"), "bjensen")),
    ('email Co "example.com"', Compare(p("email"), "co", "example.com")),
    # PingFederate workEmail: the multi-valued attribute itself.
    ('emails eq "x@example.com"', eq(p("emails"), "x@example.com")),
    # Entra: a value path followed by a sub-attribute comparison.
    (
        'emails[type eq "work"].value eq "x"',
        ValuePath(p("emails"), And(eq(p("type"), "work"), eq(p("value"), "x"))),
    ),
    ('id eq "g" and members eq "u"', And(eq(p("id"), "g"), eq(p("members"), "u"))),
    ('displayName eq "Tour Guides"', eq(p("displayName"), "Tour Guides")),
    ('id eq "X" and manager eq "Y"', And(eq(p("id"), "X"), eq(p("manager"), "Y"))),
    (f'{ENT}:manager.value eq "m"', eq(p("manager", "value", ENT), "m")),
    ('members[value eq "2819c223"]', ValuePath(p("members"), eq(p("value"), "2819c223"))),
    # Raw spaces, tabs and newlines between tokens.
    ('  userName\teq\n"x"  ', eq(p("userName"), "x")),
]


@pytest.mark.parametrize(("text", "expected"), IDP_FILTERS, ids=[t for t, _ in IDP_FILTERS])
def test_idp_filters(text: str, expected: Filter) -> None:
    assert parse_filter(text) == expected


# -- operators, literals, precedence ------------------------------------------------------


@pytest.mark.parametrize("op", sorted(COMPARE_OPS))
@pytest.mark.parametrize("spelling", [str.lower, str.upper, str.capitalize])
def test_operators_are_case_insensitive(op: str, spelling: Any) -> None:
    # RFC 7644 §3.4.2.2: "Attribute names and attribute operators used in filters are
    # case insensitive."
    assert parse_filter(f'title {spelling(op)} "x"') == Compare(p("title"), op, "x")


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("true", True),
        ("TRUE", True),
        ("False", False),
        ("null", None),
        ("NULL", None),
        ("0", 0),
        ("-12", -12),
        ("3.5", 3.5),
        ("-0.25", -0.25),
        ("1e3", 1000.0),
        ("2E-2", 0.02),
        ("12345678901234567890123", 12345678901234567890123),  # exact, not a float
        ('"a \\"quoted\\" \\\\ word"', 'a "quoted" \\ word'),
        ('"\\u00e9t\\u00e9"', "été"),
        ('"été"', "été"),
        ('""', ""),
        ('"a)b]c(d[e"', "a)b]c(d[e"),
    ],
)
def test_comparison_values(literal: str, value: Any) -> None:
    # RFC 7644 §3.4.2.2: compValue = false / null / true / number / string (JSON).
    parsed = parse_filter(f"x eq {literal}")
    assert isinstance(parsed, Compare)
    assert parsed.value == value
    assert type(parsed.value) is type(value)


PRECEDENCE: list[tuple[str, Filter]] = [
    # RFC 7644 §3.4.2.2, Table 4: "not" binds tighter than "and", "and" than "or".
    ("a pr or b pr and c pr", Or(pr("a"), And(pr("b"), pr("c")))),
    ("a pr and b pr or c pr", Or(And(pr("a"), pr("b")), pr("c"))),
    ("not (a pr) and b pr", And(Not(pr("a")), pr("b"))),
    ("not (a pr) or b pr and c pr", Or(Not(pr("a")), And(pr("b"), pr("c")))),
    ("(a pr or b pr) and c pr", And(Or(pr("a"), pr("b")), pr("c"))),
    # Left associativity.
    ("a pr and b pr and c pr", And(And(pr("a"), pr("b")), pr("c"))),
    ("a pr or b pr or c pr", Or(Or(pr("a"), pr("b")), pr("c"))),
    ("a pr and (b pr and c pr)", And(pr("a"), And(pr("b"), pr("c")))),
    ("((a pr))", pr("a")),
    ("a pr AND b pr Or c pr", Or(And(pr("a"), pr("b")), pr("c"))),
    ("NOT (a pr)", Not(pr("a"))),
    ("not(a pr)", Not(pr("a"))),
    (
        'emails[not (type eq "work") or primary eq true]',
        ValuePath(p("emails"), Or(Not(eq(p("type"), "work")), eq(p("primary"), True))),
    ),
]


@pytest.mark.parametrize(("text", "expected"), PRECEDENCE, ids=[t for t, _ in PRECEDENCE])
def test_precedence_and_grouping(text: str, expected: Filter) -> None:
    assert parse_filter(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # RFC 7644 §3.10: the attribute starts after the URN's last colon; the URN's own
        # dots ("2.0") stay in it.
        (f"{USER}:name.givenName pr", Present(p("name", "givenName", USER))),
        (f'{ENT}:department eq "R&D"', eq(p("department", urn=ENT), "R&D")),
        (f'{USER}:emails[type eq "work"]', ValuePath(p("emails", urn=USER), eq(p("type"), "work"))),
        ("urn:x:y:attr eq 1", eq(p("attr", urn="urn:x:y"), 1)),
        ("$ref pr", pr("$ref")),
        ("members.$ref pr", Present(p("members", "$ref"))),
        ("x-y_z1 pr", pr("x-y_z1")),
    ],
)
def test_attribute_paths(text: str, expected: Filter) -> None:
    assert parse_filter(text) == expected


def test_entra_value_path_tail_with_pr() -> None:
    assert parse_filter('emails[type eq "work"].value pr') == ValuePath(
        p("emails"), And(eq(p("type"), "work"), Present(p("value")))
    )


BAD_FILTERS = [
    "",
    "   ",
    "userName",
    "userName eq",
    'userName zz "x"',
    '"x" eq userName',
    '(userName eq "x"',
    'userName eq "x")',
    'userName eq "x" userName',
    'userName eq "x" and',
    'or userName eq "x"',
    "()",
    "[]",
    'not userName eq "x"',  # RFC 7644 §3.4.2.2: not needs parentheses
    'emails[type eq "work"',
    'emails[type eq "work"]]',
    "emails[]",
    "emails[type[value eq 1] eq 2]",  # value filters do not nest
    'name.givenName[value eq "x"]',  # a value filter applies to an attribute
    f'emails[{USER}:type eq "work"]',  # inside brackets: sub-attribute names
    'emails[type eq "work"].a.b eq "x"',
    'userName eq "unterminated',
    'userName eq "bad \\x escape"',
    'userName eq "raw\nnewline"',
    "a:b eq 1",  # a colon outside a URN
    "urn: eq 1",
    "a.b.c eq 1",
    "1abc eq 1",
    "user name eq 1",
    "café eq 1",  # ATTRNAME is ASCII (RFC 7644 §3.10)
    "x eq 1e999",  # not a finite number
    "x eq " + "9" * 5000,  # more digits than int() converts
    "x eq (",
    "x eq ]",
    "(" * (MAX_NESTING + 1) + "a pr" + ")" * (MAX_NESTING + 1),
    "not (" * (MAX_NESTING + 1) + "a pr" + ")" * (MAX_NESTING + 1),
    " and ".join(["a pr"] * (MAX_DEPTH + 1)),
    "(" * 5000 + "a pr" + ")" * 5000,  # no RecursionError
]


@pytest.mark.parametrize("text", BAD_FILTERS, ids=[t[:40] for t in BAD_FILTERS])
def test_bad_filters_are_invalid_filter(text: str) -> None:
    # RFC 7644 §3.4.2.2: "invalidFilter" (400), never a server error.
    with pytest.raises(InvalidFilter) as caught:
        parse_filter(text)
    assert caught.value.status == 400
    assert caught.value.to_dict()["scimType"] == "invalidFilter"


def test_limits_admit_what_they_should() -> None:
    nested = "(" * MAX_NESTING + "a pr" + ")" * MAX_NESTING
    assert parse_filter(nested) == pr("a")
    chain = parse_filter(" or ".join(["a pr"] * MAX_DEPTH))
    assert chain == parse_filter(" or ".join(["a pr"] * MAX_DEPTH))  # == does not recurse out
    assert hash(chain) == hash(parse_filter(" or ".join(["a pr"] * MAX_DEPTH)))


def test_long_filters_tokenize_in_linear_time() -> None:
    import time

    text = " or ".join(f'id eq "{i}"' for i in range(150)) + " " * 200_000
    started = time.perf_counter()
    parse_filter(text)
    assert time.perf_counter() - started < 1.0


# -- PATCH paths (RFC 7644 §3.5.2) ---------------------------------------------------------

PATHS: list[tuple[str, PatchPath]] = [
    ("members", PatchPath(p("members"))),
    ("name.givenName", PatchPath(p("name", "givenName"))),
    ("NAME.GIVENNAME", PatchPath(p("NAME", "GIVENNAME"))),
    ('members[value eq "2819c223"]', PatchPath(p("members"), eq(p("value"), "2819c223"))),
    (
        'emails[type eq "work"].value',
        PatchPath(p("emails"), eq(p("type"), "work"), "value"),
    ),
    (
        'addresses[type eq "work"].formatted',
        PatchPath(p("addresses"), eq(p("type"), "work"), "formatted"),
    ),
    (f"{ENT}:department", PatchPath(p("department", urn=ENT))),
    (f"{ENT}:manager.value", PatchPath(p("manager", "value", ENT))),
    (f"{ENT}:manager", PatchPath(p("manager", urn=ENT))),
    (f'{USER}:emails[type eq "work"]', PatchPath(p("emails", urn=USER), eq(p("type"), "work"))),
    ('members[value eq "a]b"]', PatchPath(p("members"), eq(p("value"), "a]b"))),
    (
        'members[value eq "1" or value eq "2"]',
        PatchPath(p("members"), Or(eq(p("value"), "1"), eq(p("value"), "2"))),
    ),
    ("  active  ", PatchPath(p("active"))),
]


@pytest.mark.parametrize(("text", "expected"), PATHS, ids=[t for t, _ in PATHS])
def test_patch_paths(text: str, expected: PatchPath) -> None:
    assert parse_path(text) == expected


BAD_PATHS = [
    "",
    "  ",
    "members[",
    'members[value eq "x"',
    "members]",
    'emails[type eq "work"]x',
    'emails[type eq "work"].',
    'emails[type eq "work"].value.x',
    'name.givenName[value eq "x"]',
    "members[value eq]",
    "members[]",
    "a.b.c",
    "a:b",
    'emails[type eq "work" and]',
    "1members",
]


@pytest.mark.parametrize("text", BAD_PATHS)
def test_bad_patch_paths_are_invalid_path(text: str) -> None:
    # RFC 7644 §3.5.2: "invalidPath" for a path that is not valid, even inside brackets.
    with pytest.raises(InvalidPath):
        parse_path(text)


# -- rendering -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rendered"),
    [
        ('userName Eq "x"', 'userName eq "x"'),
        ("a pr or (b pr and c pr)", "a pr or b pr and c pr"),
        ("(a pr or b pr) and c pr", "(a pr or b pr) and c pr"),
        ("a pr and (b pr and c pr)", "a pr and (b pr and c pr)"),
        ("a pr or (b pr or c pr)", "a pr or (b pr or c pr)"),
        ("NOT(a pr)", "not (a pr)"),
        ('emails[type eq "work"].value eq "x"', 'emails[type eq "work" and value eq "x"]'),
        ("x eq TRUE", "x eq true"),
        ("x eq 1e3", "x eq 1000.0"),
        ('x eq "é\\"\\n"', 'x eq "\\u00e9\\"\\n"'),
    ],
)
def test_render_filter(text: str, rendered: str) -> None:
    assert render_filter(parse_filter(text)) == rendered
    assert parse_filter(rendered) == parse_filter(text)


# -- properties ----------------------------------------------------------------------------

NAMES = st.from_regex(r"\$?[A-Za-z][A-Za-z0-9_-]{0,6}", fullmatch=True)
URNS = st.sampled_from([USER, ENT, "urn:x", "urn:a.b:c-d"])
VALUES = st.one_of(
    # Any text but U+0000, which no stored value can hold (tested below).
    st.text(st.characters(blacklist_characters="\x00"), max_size=12),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
)


def _paths(*, inner: bool, with_sub: bool = True) -> st.SearchStrategy[AttrPath]:
    urn = st.none() if inner else st.one_of(st.none(), URNS)
    sub = st.one_of(st.none(), NAMES) if with_sub else st.none()
    return st.builds(AttrPath, urn, NAMES, sub)


def _leaves(inner: bool) -> st.SearchStrategy[Filter]:
    path = _paths(inner=inner)
    return st.one_of(
        st.builds(Compare, path, st.sampled_from(sorted(COMPARE_OPS)), VALUES),
        st.builds(Present, path),
    )


def _logic(leaves: st.SearchStrategy[Filter]) -> st.SearchStrategy[Filter]:
    return st.recursive(
        leaves,
        lambda sub: st.one_of(
            st.builds(And, sub, sub), st.builds(Or, sub, sub), st.builds(Not, sub)
        ),
        max_leaves=8,
    )


INNER = _logic(_leaves(inner=True))
FILTERS = _logic(
    st.one_of(
        _leaves(inner=False), st.builds(ValuePath, _paths(inner=False, with_sub=False), INNER)
    )
)


def _strict(f: Any) -> Any:
    """The AST with each value's type, since True == 1 == 1.0 in Python."""
    if isinstance(f, Compare):
        return ("cmp", f.path, f.op, type(f.value).__name__, f.value)
    if isinstance(f, And | Or):
        return (type(f).__name__, _strict(f.left), _strict(f.right))
    if isinstance(f, Not):
        return ("not", _strict(f.expr))
    if isinstance(f, ValuePath):
        return ("vp", f.path, _strict(f.filter))
    return f


@settings(max_examples=400, deadline=None)
@given(FILTERS)
def test_render_then_parse_is_identity(ast: Filter) -> None:
    text = render_filter(ast)
    parsed = parse_filter(text)
    assert parsed == ast
    assert _strict(parsed) == _strict(ast)
    assert render_filter(parsed) == text  # canonical


TOKENS = st.sampled_from(
    [
        "(", ")", "[", "]", " ", "and", "or", "not", "eq", "Co", "pr", "gt",
        '"x"', '"', "\\", '\\"', "a", "emails", ".", ".value", ":", "urn:a:b", "1", "-1.5",
        "1e999", "true", "null", "$ref", "é", "\t", ",",
    ]
)  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=60), st.lists(TOKENS, max_size=25).map("".join)))
def test_parse_filter_only_raises_invalid_filter(text: str) -> None:
    try:
        result = parse_filter(text)
    except InvalidFilter:
        return
    # Whatever parses renders to text that parses to the same AST.
    assert parse_filter(render_filter(result)) == result


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=40), st.lists(TOKENS, max_size=20).map("".join)))
def test_parse_path_only_raises_invalid_path(text: str) -> None:
    try:
        result = parse_path(text)
    except InvalidPath:
        return
    assert result.attr.attr and (result.sub is None or result.filter is not None)


def test_nul_in_a_string_value_is_invalid_filter() -> None:
    # No stored value holds U+0000 (PostgreSQL text cannot): refuse it up front with
    # 400 invalidFilter rather than let it reach the database.
    with pytest.raises(InvalidFilter, match="NUL"):
        parse_filter('userName eq "a\\u0000b"')
