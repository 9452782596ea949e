"""Email through a real SMTP server (aiosmtpd): each message received and checked; a
mail server that is down loses nothing."""

from __future__ import annotations

import email
import socket
import time
from collections.abc import Iterator
from dataclasses import replace
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from scimhub.db.engine import Database
from scimhub.db.tables import emails
from scimhub.events.tenant_settings import update_settings
from scimhub.events.worker import Worker
from scimhub.settings import Settings
from scimhub.tenancy import tokens
from scimhub.tenancy.tenants import Tenant

from .conftest import directory


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Smtp:
    def __init__(self, port: int) -> None:
        self.port = port
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp() -> Iterator[Smtp]:
    server = Smtp(_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mail_settings(settings: Settings, smtp: Smtp) -> Settings:
    return replace(settings, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_from="scim@acme.test")


def _drain(db: Database, settings: Settings) -> None:
    worker = Worker(settings, db)
    try:
        worker.drain()
    finally:
        worker.close()


def _body(msg: Message) -> str:
    payload = msg.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def test_welcome_and_sso_ready_emails_when_provisioned(
    db: Database, tenant: Tenant, mail_settings: Settings, smtp: Smtp
) -> None:
    d = directory(db, mail_settings, tenant.id)
    d.create_user("quiet@example.com", emails=[{"value": "quiet@example.com"}])
    _drain(db, mail_settings)
    assert smtp.inbox.messages == []  # off by default
    with db.write() as conn:
        update_settings(conn, tenant.id, welcome_email=True, sso_ready_email=True)
    d.create_user(
        "ada@example.com",
        displayName="Ada Lovelace",
        emails=[{"value": "ada.home@example.com"}, {"value": "ada@acme.test", "primary": True}],
    )
    d.create_user("noemail@example.com")  # nobody to write to
    _drain(db, mail_settings)
    by_subject = {m["Subject"]: m for m in smtp.inbox.messages}
    assert set(by_subject) == {"Welcome to Acme Corp", "Your SSO account is ready"}
    for msg in smtp.inbox.messages:
        assert msg["To"] == "ada@acme.test"  # the primary address
        assert msg["From"] == "scim@acme.test"
    welcome = _body(by_subject["Welcome to Acme Corp"])
    assert "Hello Ada Lovelace" in welcome and "ada@example.com" in welcome
    ready = _body(by_subject["Your SSO account is ready"])
    assert "Sign in through your identity provider" in ready and "Acme Corp" in ready


def test_token_notices_to_the_tenant_admins(
    db: Database, tenant: Tenant, mail_settings: Settings, smtp: Smtp
) -> None:
    with db.write() as conn:
        update_settings(conn, tenant.id, admin_emails=["it@acme.test", "sec@acme.test"])
        secret, info = tokens.issue_token(conn, tenant, created_by="admin:p1")
        tokens.revoke_token(conn, tenant.id, info.id, revoked_by="admin:p2")
    _drain(db, mail_settings)
    got = sorted((m["To"], m["Subject"]) for m in smtp.inbox.messages)
    assert got == [
        ("it@acme.test", "New SCIM token for Acme Corp"),
        ("it@acme.test", "SCIM token revoked for Acme Corp"),
        ("sec@acme.test", "New SCIM token for Acme Corp"),
        ("sec@acme.test", "SCIM token revoked for Acme Corp"),
    ]
    created = next(m for m in smtp.inbox.messages if m["Subject"].startswith("New"))
    text = _body(created)
    assert f"{info.prefix}…{info.last4}" in text and info.id in text and "admin:p1" in text
    assert secret not in text
    revoked = next(m for m in smtp.inbox.messages if "revoked" in m["Subject"])
    assert "admin:p2" in _body(revoked)


def test_a_mail_server_that_is_down_loses_nothing(
    db: Database, tenant: Tenant, mail_settings: Settings, smtp: Smtp
) -> None:
    smtp.stop()
    with db.write() as conn:
        update_settings(conn, tenant.id, admin_emails=["it@acme.test"])
        tokens.issue_token(conn, tenant, created_by="admin:p1")
    _drain(db, mail_settings)
    with db.read() as conn:
        row = conn.execute(select(emails)).one()
    assert row.status == "pending" and row.attempts >= 1
    assert "Error" in row.last_error or "refused" in row.last_error.lower()
    smtp.start()
    worker = Worker(mail_settings, db)
    try:
        deadline = time.monotonic() + 10
        while not smtp.inbox.messages and time.monotonic() < deadline:
            worker.run_once(wait_seconds=0.05)
    finally:
        worker.close()
    assert [m["Subject"] for m in smtp.inbox.messages] == ["New SCIM token for Acme Corp"]
    with db.read() as conn:
        assert conn.execute(select(emails.c.status)).scalar_one() == "sent"


def test_operator_templates_replace_the_packaged_ones(
    db: Database, tenant: Tenant, mail_settings: Settings, smtp: Smtp, tmp_path: Path
) -> None:
    (tmp_path / "welcome.txt").write_text("Subject: Hi $display_name\n\nWelcome to $tenant_name.\n")
    custom = replace(mail_settings, email_template_dir=str(tmp_path))
    with db.write() as conn:
        update_settings(conn, tenant.id, welcome_email=True)
    directory(db, custom, tenant.id).create_user(
        "ada@example.com", displayName="Ada", emails=[{"value": "ada@acme.test"}]
    )
    _drain(db, custom)
    assert [m["Subject"] for m in smtp.inbox.messages] == ["Hi Ada"]
    assert _body(smtp.inbox.messages[0]).strip() == "Welcome to Acme Corp."
