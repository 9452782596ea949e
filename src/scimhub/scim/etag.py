"""Versions and ETags (RFC 7644 §3.14, RFC 7232).

A resource's version is an integer; its ETag is the weak `W/"<version>"`. Matching uses
the weak comparison of RFC 7232 §2.3.2 for both If-Match and If-None-Match: SCIM
clients echo `meta.version` (weak) in If-Match, where RFC 7232 §3.1 would want strong
comparison, and a strict server would then fail every conditional write.

Leniencies: list members may be separated by any whitespace and empty members are
skipped (RFC 7230 §7 `#rule`), `w/` counts as `W/`, and an unquoted tag (`If-Match: 3`)
is read as if quoted."""

from __future__ import annotations

import re

# RFC 7232 §2.3: entity-tag = [ W/ ] DQUOTE *etagc DQUOTE, in a comma-separated list.
_TAG = re.compile(r'\s*(?:(?P<star>\*)|(?:[Ww]/)?(?:"(?P<quoted>[^"]*)"|(?P<bare>[^\s,"]+)))\s*')


def etag(version: int) -> str:
    """`W/"<version>"`, the value of `meta.version` and of the ETag header."""
    return f'W/"{version}"'


def parse_etags(header: str) -> list[str] | None:
    """The opaque tags of an If-Match / If-None-Match value (`["*"]` for `*`), or None
    when the value is not a list of entity-tags."""
    tags: list[str] = []
    pos, end = 0, len(header)
    while pos < end:
        if header[pos] in ", \t":
            pos += 1
            continue
        m = _TAG.match(header, pos)
        if m is None or m.end() == pos:
            return None
        if m.group("star"):
            tags.append("*")
        else:
            tags.append(m.group("quoted") if m.group("quoted") is not None else m.group("bare"))
        pos = m.end()
        if pos < end and header[pos] != ",":
            return None
    return tags


def matches(header: str | None, version: int) -> bool:
    """Whether an If-Match / If-None-Match header value names `version` (or is `*`).
    Weak and strong forms compare equal (RFC 7232 §2.3.2 weak comparison)."""
    if header is None:
        return False
    tags = parse_etags(header)
    if not tags:
        return False
    wanted = str(version)
    return any(tag == "*" or tag == wanted for tag in tags)


def parse_version(etag_text: str | None) -> int | None:
    """The version an ETag names (`W/"3"`, `"3"`, `3` → 3), e.g. from a bulk operation's
    `version` or a PUT body's `meta.version`; None when it names none of ours."""
    if etag_text is None:
        return None
    tags = parse_etags(etag_text)
    if not tags or len(tags) != 1:
        return None
    tag = tags[0]
    if not (tag.isascii() and tag.isdigit() and len(tag) <= 19):
        return None
    return int(tag)
