"""Linking on create: before a SCIM create makes a new account, look for the person's
existing one, in this tenant only, by

1. `externalId` for the same provider (a deprovisioned account the IdP re-creates),
2. a work email in one of the tenant's *verified* domains (never another domain: an
   IdP could otherwise claim anyone's account by sending their address),
3. `userName` (the identifier when no email is sent).

Candidates are accounts created outside SCIM and not yet linked (`account_states`:
JIT or admin-created) and retained (deprovisioned) accounts. A live account the IdP
itself provisioned is not a candidate: a second POST for it is the duplicate that
RFC 7644 §3.3 answers with 409 `uniqueness`. A retained account whose `externalId` for
the same provider differs from the one sent is another person (a recycled userName).

The lookups are one statement of indexed branches, compiled once and sent straight to
the driver (db/prepared.py): one round trip per create, whatever it finds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import Connection

from scimhub.db.prepared import Prepared
from scimhub.db.tables import (
    account_states,
    retained_emails,
    retained_users,
    user_emails,
    users,
    verified_domains,
)

MatchedBy = Literal["externalId", "email", "userName"]
Target = Literal["app", "retained"]


@dataclass(frozen=True, slots=True)
class Match:
    target: Target
    id: str
    matched_by: MatchedBy


def _p(name: str) -> Any:
    return sa.bindparam(name, type_=sa.String())


_SAME_PERSON = sa.or_(
    retained_users.c.external_id.is_(None),
    _p("external_id").is_(None),
    retained_users.c.external_id == _p("external_id"),
    retained_users.c.provider.is_distinct_from(_p("provider")),
)

_UNLINKED_APP_ACCOUNT = sa.and_(
    account_states.c.app_created.is_(True), account_states.c.linked_at.is_(None)
)

# Each lookup of the list above is one branch; `rank` is its place in the list (and
# within a lookup, an unlinked app account before a retained one).
_RANKS: dict[int, tuple[Target, MatchedBy]] = {
    1: ("retained", "externalId"),
    2: ("app", "email"),
    3: ("retained", "email"),
    4: ("app", "userName"),
    5: ("retained", "userName"),
}


def _rank(n: int) -> Any:
    return sa.literal(n).label("rank")


# The newest retained account with this externalId for this provider.
_by_external_id = (
    sa.select(_rank(1), retained_users.c.id)
    .where(
        retained_users.c.tenant_id == _p("tenant_id"),
        retained_users.c.external_id == _p("external_id"),
        retained_users.c.provider.is_not_distinct_from(_p("provider")),
    )
    .order_by(retained_users.c.deleted_at.desc())
    .limit(1)
    .subquery()
)

_DOMAIN_VERIFIED = (
    sa.select(verified_domains.c.domain)
    .where(
        verified_domains.c.tenant_id == _p("tenant_id"),
        verified_domains.c.domain == _p("domain"),
    )
    .exists()
)

# One statement for all of them: each branch is an index lookup (a NULL externalId or
# email finds nothing), and a create that matches nothing costs one round trip.
_MATCH = Prepared(
    sa.union_all(
        sa.select(_by_external_id.c.rank, _by_external_id.c.id),
        sa.select(_rank(2), user_emails.c.user_id.label("id"))
        .join(account_states, account_states.c.user_id == user_emails.c.user_id)
        .where(
            user_emails.c.tenant_id == _p("tenant_id"),
            user_emails.c.value_ci == _p("email"),
            _UNLINKED_APP_ACCOUNT,
            _DOMAIN_VERIFIED,
        ),
        sa.select(_rank(3), retained_users.c.id)
        .join(retained_emails, retained_emails.c.user_id == retained_users.c.id)
        .where(
            retained_emails.c.tenant_id == _p("tenant_id"),
            retained_emails.c.value_ci == _p("email"),
            _SAME_PERSON,
            _DOMAIN_VERIFIED,
        ),
        sa.select(_rank(4), users.c.id)
        .join(account_states, account_states.c.user_id == users.c.id)
        .where(
            users.c.tenant_id == _p("tenant_id"),
            users.c.user_name_ci == _p("user_name_ci"),
            _UNLINKED_APP_ACCOUNT,
        ),
        sa.select(_rank(5), retained_users.c.id).where(
            retained_users.c.tenant_id == _p("tenant_id"),
            retained_users.c.user_name_ci == _p("user_name_ci"),
            _SAME_PERSON,
        ),
    )
)


def work_email(data: dict[str, Any]) -> str | None:
    """The address that identifies the person at work: the email typed "work", else the
    primary one, else the only one. Folded to lower case."""
    emails = [e for e in data.get("emails") or [] if isinstance(e, dict)]
    values = [e for e in emails if isinstance(e.get("value"), str) and "@" in e["value"]]
    for chosen in (
        [e for e in values if str(e.get("type", "")).lower() == "work"],
        [e for e in values if e.get("primary") is True],
        values if len(values) == 1 else [],
    ):
        if chosen:
            return str(chosen[0]["value"]).strip().lower()
    return None


def find_match(
    conn: Connection, tenant_id: str, data: dict[str, Any], provider: str | None
) -> Match | None:
    external_id = data.get("externalId")
    user_name = data.get("userName")
    email = work_email(data)
    rows = _MATCH.all(
        conn,
        {
            "tenant_id": tenant_id,
            "provider": provider,
            "external_id": external_id if isinstance(external_id, str) and external_id else None,
            "email": email,
            "domain": email.rpartition("@")[2] if email is not None else None,
            "user_name_ci": user_name.lower() if isinstance(user_name, str) and user_name else None,
        },
    )
    if not rows:
        return None
    # At most a few rows (the matches of each lookup); sorting them in SQL cost more.
    row = min(rows, key=lambda r: r.rank)
    target, matched_by = _RANKS[row.rank]
    return Match(target, row.id, matched_by)
