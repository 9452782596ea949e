"""Email: templates (packaged, each overridable by the operator), rendering, the SMTP
sender, and the queue it drains.

Emails are queued by the dispatcher (events/dispatch.py) in the `emails` table, from the
same outbox as webhooks, and sent by the worker under a lease; a failed send (server
down, refused) is retried with the webhooks' backoff, and dead-lettered after
`webhook_max_attempts`. Nothing is lost while the mail server is down.

A template is a text file: a first line `Subject: …`, a blank line, the body; `$name`
placeholders (Python's `string.Template`), an unknown placeholder left as written.
`email_template_dir/<name>.txt` replaces the packaged `<name>.txt`."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

from sqlalchemy import bindparam, or_, select, update

from scimhub.db.engine import Database
from scimhub.db.tables import UTCDateTime, emails, tenants
from scimhub.events.delivery import backoff
from scimhub.settings import Settings

TEMPLATES = ("welcome", "sso_ready", "token_created", "token_revoked")

_now = bindparam("now", type_=UTCDateTime())
_DUE = (
    select(emails.c.id)
    .where(
        emails.c.status == "pending",
        emails.c.next_attempt_at <= _now,
        or_(emails.c.lease_until.is_(None), emails.c.lease_until < _now),
    )
    .order_by(emails.c.next_attempt_at, emails.c.id)
    .limit(bindparam("limit"))
)
_CLAIMED = (
    select(emails, tenants.c.name.label("tenant_name"))
    .select_from(emails.join(tenants, tenants.c.id == emails.c.tenant_id))
    .where(emails.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(emails.c.id)
)


def load_template(name: str, template_dir: str = "") -> str:
    if template_dir:
        override = Path(template_dir) / f"{name}.txt"
        if override.is_file():
            return override.read_text(encoding="utf-8")
    return (resources.files("scimhub.events") / "templates" / f"{name}.txt").read_text(
        encoding="utf-8"
    )


def context_of(event: dict[str, Any], tenant_name: str) -> dict[str, str]:
    """The placeholders an event offers its templates."""
    data = event.get("data") or {}
    name = data.get("name") or {}
    display = data.get("displayName") or name.get("formatted") or data.get("userName") or ""
    token = data if event.get("type", "").startswith("token.") else {}
    values = {
        "tenant": event.get("tenant"),
        "tenant_name": tenant_name or event.get("tenant"),
        "user_name": data.get("userName"),
        "display_name": display,
        "given_name": name.get("givenName"),
        "token_id": token.get("id"),
        "token_prefix": token.get("prefix"),
        "token_last4": token.get("last4") or "",
        "token_provider": token.get("provider") or "any",
        "actor": event.get("actor"),
        "timestamp": event.get("timestamp"),
        "event_type": event.get("type"),
        "event_id": event.get("id"),
    }
    return {k: "" if v is None else str(v) for k, v in values.items()}


def render(name: str, context: dict[str, str], template_dir: str = "") -> tuple[str, str]:
    """(subject, body)."""
    text = Template(load_template(name, template_dir)).safe_substitute(context)
    head, _, body = text.partition("\n\n")
    subject = head.removeprefix("Subject:").strip() if head.startswith("Subject:") else name
    return subject, body.strip() + "\n"


def message(settings: Settings, to: str, subject: str, body: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain=settings.smtp_from.rpartition("@")[2] or None)
    msg.set_content(body)
    return msg


@dataclass(frozen=True, slots=True)
class _Queued:
    id: int
    attempts: int
    message: EmailMessage


def drain(db: Database, owner: str, settings: Settings, limit: int = 50) -> int:
    """Claims due emails, sends them, records the outcome; returns how many were sent."""
    if not settings.smtp_host:
        return 0
    now = datetime.now(UTC)
    with db.read() as conn:
        if not conn.execute(_DUE, {"now": now, "limit": 1}).first():
            return 0
    due = _DUE.with_for_update(skip_locked=True) if db.dialect == "postgresql" else _DUE
    with db.write() as conn:
        ids = list(conn.execute(due, {"now": now, "limit": limit}).scalars())
        if not ids:
            return 0
        conn.execute(
            update(emails)
            .where(emails.c.id.in_(ids))
            .values(
                lease_owner=owner,
                lease_until=now + timedelta(seconds=settings.worker_lease_seconds),
                attempts=emails.c.attempts + 1,
            )
        )
        rows = conn.execute(_CLAIMED, {"ids": ids}).all()
    queued = []
    for row in rows:
        subject, body = render(
            row.template, context_of(row.context, row.tenant_name), settings.email_template_dir
        )
        queued.append(
            _Queued(row.id, row.attempts, message(settings, row.recipient, subject, body))
        )
    sent: list[int] = []
    error: str | None = None
    try:
        with smtplib.SMTP(
            settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds
        ) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password)
            for item in queued:
                smtp.send_message(item.message)
                sent.append(item.id)
    except (OSError, smtplib.SMTPException) as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    done = datetime.now(UTC)
    with db.write() as conn:
        if sent:
            conn.execute(
                update(emails)
                .where(emails.c.id.in_(sent), emails.c.lease_owner == owner)
                .values(status="sent", sent_at=done, lease_owner=None, lease_until=None)
            )
        for item in queued:
            if item.id in sent:
                continue
            dead = item.attempts >= settings.webhook_max_attempts
            conn.execute(
                update(emails)
                .where(emails.c.id == item.id, emails.c.lease_owner == owner)
                .values(
                    status="dead" if dead else "pending",
                    next_attempt_at=done + timedelta(seconds=backoff(item.attempts, settings)),
                    lease_owner=None,
                    lease_until=None,
                    last_error=error or "not sent",
                )
            )
    return len(sent)
