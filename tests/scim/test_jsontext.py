"""JSON text in and out (scim/jsontext.py): RFC 8259 for client input, and the same
values the standard library would give wherever orjson's answer would differ."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scimhub.scim import jsontext

BIG = 123456789012345678901234567890


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'{"a": 1, "b": [true, null, 1.5, "x"]}', {"a": 1, "b": [True, None, 1.5, "x"]}),
        # Integers beyond 64 bits stay exact (orjson alone would read a float).
        (b'{"n": 123456789012345678901234567890}', {"n": BIG}),
        (b'{"n": -9223372036854775809}', {"n": -9223372036854775809}),
        # RFC 8259 §8.1: a byte order mark may be ignored.
        (b'\xef\xbb\xbf{"a": 1}', {"a": 1}),
        # A surrogate pair is one character.
        (b'"\\ud83d\\ude00"', "\U0001f600"),
        ('"caf\u00e9"'.encode(), "caf\u00e9"),
        # RFC 8259 §4: the last of duplicate names wins, as in the standard library.
        (b'{"a": 1, "a": 2}', {"a": 2}),
    ],
)
def test_parse_accepts_json(raw: bytes, expected: Any) -> None:
    value = jsontext.parse(raw)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a": NaN}',  # RFC 8259 §6: not a number JSON allows
        b'{"a": Infinity}',
        b'{"a": -Infinity}',
        b'{"a": 1e400}',  # beyond a double
        b'{"a": "\\ud800"}',  # a lone surrogate: no UTF-8 text holds it
        b'{"a": "\\udc00x"}',
        '{"a": 1}'.encode("utf-16"),  # RFC 8259 §8.1: UTF-8 only
        b"\xff\xfe",
        b'{"a": 1,}',
        b"",
    ],
)
def test_parse_refuses_what_is_not_json(raw: bytes) -> None:
    with pytest.raises(ValueError):
        jsontext.parse(raw)


def test_parse_takes_text_too() -> None:
    assert jsontext.parse('"a\\u00e9"') == "a\u00e9"
    with pytest.raises(ValueError):
        jsontext.parse('"\\ud800"')


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": [1, "x"]}', {"a": [1, "x"]}),
        ('{"n": 123456789012345678901234567890}', {"n": BIG}),
        # Written by the standard library before: still read back as it was written.
        ('{"a": "\\ud800"}', {"a": "\ud800"}),
    ],
)
def test_read_gives_what_was_stored(text: str, expected: Any) -> None:
    assert jsontext.read(text) == expected
    assert jsontext.read(text.encode()) == expected


def test_read_accepts_a_nan_the_standard_library_wrote() -> None:
    assert math.isnan(jsontext.read('{"a": NaN}')["a"])


@pytest.mark.parametrize(
    "value",
    [
        {"a": BIG},  # orjson refuses integers beyond 64 bits
        {"a": "\ud800"},  # and lone surrogates
        {1: "x"},  # and keys that are not strings
    ],
)
def test_what_orjson_refuses_is_written_by_the_standard_library(value: Any) -> None:
    text = jsontext.to_text(value)
    assert text == json.dumps(value)
    assert json.loads(text) == json.loads(json.dumps(value))
    body = jsontext.to_bytes(value)
    assert json.loads(body) == json.loads(json.dumps(value))


def test_response_bytes_are_compact_utf8() -> None:
    body = jsontext.to_bytes({"name": "J\u00f6rg", "n": [1, 2]})
    assert body == '{"name":"J\u00f6rg","n":[1,2]}'.encode()


_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
_documents = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(_documents)
def test_round_trips_agree_with_the_standard_library(value: Any) -> None:
    # Whatever is written reads back to what the standard library would give.
    expected = json.loads(json.dumps(value))
    assert jsontext.read(jsontext.to_text(value)) == expected
    assert json.loads(jsontext.to_text(value)) == expected
    assert json.loads(jsontext.to_bytes(value)) == expected
    if not _has_lone_surrogate(value):
        assert jsontext.parse(jsontext.to_bytes(value)) == expected


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False
