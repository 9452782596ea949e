"""ETags (RFC 7644 §3.14, RFC 7232 §2.3, §3.1, §3.2)."""

from __future__ import annotations

import pytest

from scimhub.scim.etag import etag, matches, parse_etags, parse_version


def test_etag_is_weak_and_names_the_version() -> None:
    # RFC 7644 §3.14 example: ETag: W/"e180ee84f0671b1"
    assert etag(3) == 'W/"3"'
    assert parse_version(etag(3)) == 3


@pytest.mark.parametrize(
    ("header", "version", "expected"),
    [
        ('W/"3"', 3, True),
        ('"3"', 3, True),  # RFC 7232 §2.3.2: weak comparison, W/ or not
        ('w/"3"', 3, True),
        ("3", 3, True),  # lenient: unquoted
        ('W/"3"', 4, False),
        ('W/"30"', 3, False),
        ('W/"03"', 3, False),  # opaque tags compare as strings
        ("*", 3, True),  # RFC 7232 §3.1: "*" matches any current representation
        (" * ", 3, True),
        ('W/"1", W/"3"', 3, True),  # RFC 7232 §3.1: a list
        ('W/"1",W/"2"', 3, False),
        ('  W/"1" ,\tW/"3"  ', 3, True),
        (',, W/"3",', 3, True),  # RFC 7230 §7: empty list elements are skipped
        ('W/"a,3"', 3, False),  # a comma inside the quotes is part of the tag
        ('W/"3" W/"4"', 3, False),  # not a list: no match
        ('"3', 3, False),
        ("", 3, False),
        (None, 3, False),
    ],
)
def test_matches(header: str | None, version: int, expected: bool) -> None:
    assert matches(header, version) is expected


@pytest.mark.parametrize(
    ("header", "tags"),
    [
        ('W/"1", "2", *', ["1", "2", "*"]),
        ('""', [""]),
        ("", []),
        ('W/"1" x', None),
        ('"unterminated', None),
    ],
)
def test_parse_etags(header: str, tags: list[str] | None) -> None:
    assert parse_etags(header) == tags


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ('W/"7"', 7),
        ('"7"', 7),
        ("7", 7),
        (' W/"7" ', 7),
        ('W/"mvwNGaxB5SDq074p"', None),  # RFC 7643 §3.1 example: not one of ours
        ('W/"-1"', None),
        ('W/"1", W/"2"', None),
        ('W/"' + "9" * 5000 + '"', None),
        ("*", None),
        ("", None),
        (None, None),
        ('W/"٣"', None),  # not an ASCII digit
    ],
)
def test_parse_version(text: str | None, version: int | None) -> None:
    assert parse_version(text) == version
