"""List and search parameters (RFC 7644 §3.4.2, §3.4.3), the ListResponse, and RFC 9865
cursors."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from typing import Any

import pytest
import scim2_models

from scimhub.scim.errors import InvalidCursor, InvalidFilter, InvalidSyntax, InvalidValue
from scimhub.scim.filter import AttrPath, Compare, parse_filter
from scimhub.scim.listing import (
    LIST_RESPONSE_URN,
    MAX_START_INDEX,
    SEARCH_REQUEST_URN,
    ListQuery,
    cursor_secret,
    decode_cursor,
    encode_cursor,
    fingerprint,
    list_response,
    parse_query_params,
    parse_search_body,
)
from scimhub.scim.projection import Projection
from scimhub.settings import Settings

USER_MODEL: Any = scim2_models.User  # untyped generic

LIMITS = {"default_count": 100, "max_count": 1000}


def q(**params: str) -> ListQuery:
    return parse_query_params(params, **LIMITS)


def test_defaults() -> None:
    assert q() == ListQuery(
        filter=None,
        sort_by=None,
        descending=False,
        start_index=1,
        count=100,
        cursor=None,
        projection=Projection(),
    )


@pytest.mark.parametrize(
    ("params", "start", "count"),
    [
        # Okta: startIndex=1&count=100 on every list, count=2 on its connection test.
        ({"startIndex": "1", "count": "100"}, 1, 100),
        ({"startIndex": "1", "count": "2"}, 1, 2),
        ({"startIndex": "11", "count": "10"}, 11, 10),
        # RFC 7644 §3.4.2.4: "A value less than 1 SHALL be interpreted as 1."
        ({"startIndex": "0"}, 1, 100),
        ({"startIndex": "-5"}, 1, 100),
        # "A negative value SHALL be interpreted as 0"; 0 asks for totalResults only.
        ({"count": "-1"}, 1, 0),
        ({"count": "0"}, 1, 0),
        # Above the maximum: fewer results ("MAY return fewer results").
        ({"count": "5000"}, 1, 1000),
        ({"count": " 7 "}, 1, 7),
        # Parameter names match case-insensitively (Okta legacy spellings).
        ({"startindex": "3", "COUNT": "4"}, 3, 4),
    ],
)
def test_index_paging(params: dict[str, str], start: int, count: int) -> None:
    query = q(**params)
    assert (query.start_index, query.count, query.cursor) == (start, count, None)


def test_exact_spelling_wins_over_other_case() -> None:
    assert parse_query_params({"COUNT": "4", "count": "5"}, **LIMITS).count == 5
    assert parse_query_params({"count": "5", "COUNT": "4"}, **LIMITS).count == 5


@pytest.mark.parametrize(
    "params",
    [{"startIndex": "one"}, {"count": "1.5"}, {"count": ""}, {"startIndex": "0x10"}],
)
def test_non_integers_are_invalid_value(params: dict[str, str]) -> None:
    with pytest.raises(InvalidValue):
        q(**params)


def test_unknown_parameters_are_ignored() -> None:
    # Entra appends ?aadOptscim062020 to every request.
    assert q(aadOptscim062020="", foo="bar") == q()


def test_filter() -> None:
    assert q(filter='userName eq "x"').filter == Compare(AttrPath(None, "userName"), "eq", "x")
    assert q(filter="").filter is None
    assert q(filter="  ").filter is None
    with pytest.raises(InvalidFilter):
        q(filter="userName eq")


@pytest.mark.parametrize(
    ("params", "path", "descending"),
    [
        ({"sortBy": "userName"}, AttrPath(None, "userName"), False),
        (
            {"sortBy": "name.givenName", "sortOrder": "descending"},
            AttrPath(None, "name", "givenName"),
            True,
        ),
        (
            {"sortBy": "meta.created", "sortOrder": "DESCENDING"},
            AttrPath(None, "meta", "created"),
            True,
        ),
        ({"sortBy": "userName", "sortOrder": "Ascending"}, AttrPath(None, "userName"), False),
        (
            {"sortBy": "urn:ietf:params:scim:schemas:core:2.0:User:userName"},
            AttrPath("urn:ietf:params:scim:schemas:core:2.0:User", "userName"),
            False,
        ),
    ],
)
def test_sorting(params: dict[str, str], path: AttrPath, descending: bool) -> None:
    # RFC 7644 §3.4.2.3: sortOrder defaults to ascending.
    query = q(**params)
    assert (query.sort_by, query.descending) == (path, descending)


@pytest.mark.parametrize("params", [{"sortBy": "a b"}, {"sortBy": "x", "sortOrder": "up"}])
def test_bad_sorting_is_invalid_value(params: dict[str, str]) -> None:
    with pytest.raises(InvalidValue):
        q(**params)


def test_attributes_parameters() -> None:
    query = q(attributes="userName,name.givenName", excludedAttributes="members")
    assert query.projection == Projection(("userName", "name.givenName"), ("members",))
    assert q(attributes="").projection == Projection()


@pytest.mark.parametrize(("value", "cursor"), [("", ""), ("abc.def", "abc.def")])
def test_cursor_parameter(value: str, cursor: str) -> None:
    # RFC 9865 §2: an empty cursor asks for the first page of cursor paging.
    query = q(cursor=value, count="10")
    assert (query.cursor, query.count) == (cursor, 10)


def test_cursor_with_start_index_is_invalid_value() -> None:
    with pytest.raises(InvalidValue):
        q(cursor="", startIndex="1")


# -- POST .search (RFC 7644 §3.4.3) ---------------------------------------------------------


def test_search_body() -> None:
    body = {
        "schemas": [SEARCH_REQUEST_URN],
        "attributes": ["displayName", "userName"],
        "filter": 'displayName sw "smith"',
        "startIndex": 1,
        "count": 10,
    }
    query = parse_search_body(body, **LIMITS)
    assert query == ListQuery(
        filter=parse_filter('displayName sw "smith"'),
        sort_by=None,
        descending=False,
        start_index=1,
        count=10,
        cursor=None,
        projection=Projection(("displayName", "userName"), ()),
    )


def test_search_body_cursor_and_leniency() -> None:
    # RFC 9865 §3: cursor in the body; names case-insensitive; null is absent.
    body = {
        "Filter": None,
        "CURSOR": "",
        "count": "5",
        "sortBy": "userName",
        "excludedAttributes": "members",
    }
    query = parse_search_body(body, **LIMITS)
    assert (query.cursor, query.count, query.filter) == ("", 5, None)
    assert query.projection == Projection((), ("members",))
    assert parse_search_body({}, **LIMITS) == q()


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ([], InvalidSyntax),
        ("x", InvalidSyntax),
        ({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}, InvalidSyntax),
        ({"schemas": "nope"}, InvalidSyntax),
        ({"count": True}, InvalidValue),
        ({"count": 1.5}, InvalidValue),
        ({"startIndex": "x"}, InvalidValue),
        ({"filter": 3}, InvalidValue),
        ({"attributes": [1]}, InvalidValue),
        ({"cursor": 1}, InvalidValue),
        ({"filter": "bad filter"}, InvalidFilter),
    ],
)
def test_bad_search_bodies(body: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_search_body(body, **LIMITS)


# -- ListResponse --------------------------------------------------------------------------


def test_list_response_index_paging() -> None:
    # RFC 7644 §3.4.2, Figure 3; Okta needs integers.
    body = list_response([{"id": "a"}, {"id": "b"}], total=100, start_index=11)
    assert body == {
        "schemas": [LIST_RESPONSE_URN],
        "totalResults": 100,
        "itemsPerPage": 2,
        "startIndex": 11,
        "Resources": [{"id": "a"}, {"id": "b"}],
    }
    parsed = scim2_models.ListResponse[USER_MODEL].model_validate(body)
    assert parsed.total_results == 100


def test_empty_list_response() -> None:
    # Entra's connection test expects 200 with an empty ListResponse.
    assert list_response([], total=0, start_index=1) == {
        "schemas": [LIST_RESPONSE_URN],
        "totalResults": 0,
        "itemsPerPage": 0,
        "startIndex": 1,
        "Resources": [],
    }


def test_list_response_cursor_paging() -> None:
    # RFC 9865 §2: nextCursor on every page but the last; totalResults may be omitted.
    body = list_response(
        [{"id": "a"}], total=None, start_index=None, next_cursor="n", previous_cursor="p"
    )
    assert body == {
        "schemas": [LIST_RESPONSE_URN],
        "itemsPerPage": 1,
        "nextCursor": "n",
        "previousCursor": "p",
        "Resources": [{"id": "a"}],
    }
    last = list_response([], total=3, start_index=None)
    assert "nextCursor" not in last and "startIndex" not in last


# -- cursors -------------------------------------------------------------------------------

SECRET = b"k" * 32


def test_cursor_round_trip_and_alphabet() -> None:
    key = ("bjensen", 42, None, 1.5, True, "é/+=")
    cursor = encode_cursor(key, "fp", secret=SECRET)
    # RFC 9865 §2: only RFC 3986 unreserved characters.
    allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
    assert set(cursor) <= allowed
    assert decode_cursor(cursor, "fp", secret=SECRET) == key


def test_cursor_is_bound_to_its_key() -> None:
    # RFC 9865 §6 (security): a cursor verifies only under the key that signed it; the
    # default (no key given) is a per-process key of its own.
    cursor = encode_cursor((1,), "fp")
    assert decode_cursor(cursor, "fp") == (1,)
    configured = cursor_secret(Settings())
    with pytest.raises(InvalidCursor):
        decode_cursor(cursor, "fp", secret=configured)
    signed = encode_cursor((2,), "fp", secret=configured)
    assert decode_cursor(signed, "fp", secret=configured) == (2,)
    with pytest.raises(InvalidCursor):
        decode_cursor(signed, "fp")


def test_cursor_secret_derivation() -> None:
    a = cursor_secret(Settings(database_url="sqlite:///a.db"))
    assert a == cursor_secret(Settings(database_url="sqlite:///a.db"))
    assert a != cursor_secret(Settings(database_url="sqlite:///b.db"))
    assert cursor_secret(Settings(cursor_secret="s3")) == b"s3"


def _tamper(cursor: str) -> str:
    mac = cursor.split(".")[1]
    forged = base64.urlsafe_b64encode(json.dumps([999]).encode()).rstrip(b"=").decode()
    return f"{forged}.{mac}"


@pytest.mark.parametrize(
    "make",
    [
        lambda c: "",
        lambda c: "garbage",
        lambda c: c + "x",
        lambda c: c.replace(".", ""),
        lambda c: "." + c.split(".")[1],
        lambda c: _tamper(c),
        lambda c: c[:-2] + ("AA" if c[-2:] != "AA" else "BB"),
        lambda c: "%%%." + c.split(".")[1],
        lambda c: "a" * 5000 + "." + c.split(".")[1],
    ],
)
def test_bad_cursors_are_invalid_cursor(make: Any) -> None:
    cursor = encode_cursor((1, "a"), "fp", secret=SECRET)
    with pytest.raises(InvalidCursor) as caught:
        decode_cursor(make(cursor), "fp", secret=SECRET)
    assert caught.value.to_dict()["scimType"] == "invalidCursor"  # RFC 9865 §2.1


def test_cursor_from_another_query_or_key_is_invalid() -> None:
    cursor = encode_cursor((1,), "fp", secret=SECRET)
    with pytest.raises(InvalidCursor):
        decode_cursor(cursor, "other", secret=SECRET)
    with pytest.raises(InvalidCursor):
        decode_cursor(cursor, "fp", secret=b"another key")


def test_a_signed_non_list_payload_is_invalid() -> None:
    from scimhub.scim import listing

    payload = base64.urlsafe_b64encode(b'{"a":1}').rstrip(b"=").decode()
    cursor = f"{payload}.{listing._mac(SECRET, 'fp', payload)}"
    with pytest.raises(InvalidCursor):
        decode_cursor(cursor, "fp", secret=SECRET)


def test_fingerprint_binds_type_filter_and_sort_only() -> None:
    base = q(filter='userName eq "x"', sortBy="userName", cursor="")
    mark = fingerprint(base, "User")
    # Same query, other spelling of the operator, other page size or projection: same.
    assert fingerprint(q(filter='userName EQ "x"', sortBy="userName", cursor=""), "User") == mark
    assert fingerprint(replace(base, count=5, projection=Projection(("id",), ())), "User") == mark
    # Anything that moves the position: different.
    assert fingerprint(base, "Group") != mark
    assert fingerprint(replace(base, filter=parse_filter('userName eq "y"')), "User") != mark
    assert fingerprint(replace(base, filter=None), "User") != mark
    assert fingerprint(replace(base, sort_by=None), "User") != mark
    assert fingerprint(replace(base, descending=True), "User") != mark


def test_huge_start_index_is_clamped_not_an_overflow() -> None:
    # RFC 7644 §3.4.2.4: a startIndex past the results gives an empty page; it must not
    # overflow the 64-bit OFFSET of the SQL underneath.
    query = parse_query_params({"startIndex": "9" * 30}, default_count=100, max_count=1000)
    assert query.start_index == MAX_START_INDEX
