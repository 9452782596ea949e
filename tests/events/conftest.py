"""Fixtures of the event tests: services wired with the audit and event observers, real
HTTP receivers, a worker with short timings, helpers to write users and groups."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from scimhub.audit import AuditObserver
from scimhub.db.engine import Database
from scimhub.events import EventObserver
from scimhub.events.worker import Worker
from scimhub.resources.changes import Origin
from scimhub.resources.service import Preconditions, ResourceService
from scimhub.scim.projection import Projection
from scimhub.scim.schema import GROUP, USER
from scimhub.settings import Settings

from .receiver import Receiver

OKTA = Origin(provider="okta", actor="token:t1", request_id="r1", user_agent="Okta SCIM")
BASE = "http://scim.test/scim/v2/acme"
EVERYTHING = Projection()
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def fast_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "worker_poll_seconds": 0.02,
        "webhook_backoff_base_seconds": 0.05,
        "webhook_backoff_max_seconds": 0.2,
        "webhook_timeout_seconds": 2.0,
        "worker_lease_seconds": 5.0,
        **overrides,
    }
    return Settings(**values)


@dataclass
class Directory:
    """Users and groups written through the SCIM service, with both observers."""

    users: ResourceService
    groups: ResourceService
    tenant_id: str

    def create_user(self, name: str, **attrs: Any) -> str:
        body = {"schemas": [USER.schema.id], "userName": name, **attrs}
        return str(
            self.users.create(self.tenant_id, body, EVERYTHING, BASE, origin=OKTA).body["id"]
        )

    def patch_user(self, id: str, *ops: dict[str, Any]) -> None:
        body = {"schemas": [PATCH], "Operations": list(ops)}
        self.users.patch(self.tenant_id, id, body, Preconditions(), EVERYTHING, BASE, origin=OKTA)

    def set_active(self, id: str, active: bool) -> None:
        self.patch_user(id, {"op": "replace", "path": "active", "value": active})

    def delete_user(self, id: str) -> None:
        self.users.delete(self.tenant_id, id, Preconditions(), origin=OKTA)

    def create_group(self, name: str, members: list[str] = ()) -> str:  # type: ignore[assignment]
        body = {
            "schemas": [GROUP.schema.id],
            "displayName": name,
            "members": [{"value": m} for m in members],
        }
        return str(
            self.groups.create(self.tenant_id, body, EVERYTHING, BASE, origin=OKTA).body["id"]
        )

    def patch_group(self, id: str, *ops: dict[str, Any]) -> None:
        body = {"schemas": [PATCH], "Operations": list(ops)}
        self.groups.patch(self.tenant_id, id, body, Preconditions(), EVERYTHING, BASE, origin=OKTA)


def directory(db: Database, settings: Settings, tenant_id: str) -> Directory:
    observers = [AuditObserver(), EventObserver(settings)]
    return Directory(
        ResourceService(db, settings, USER, observers),
        ResourceService(db, settings, GROUP, observers),
        tenant_id,
    )


@pytest.fixture
def settings(database_url: str) -> Settings:
    return fast_settings(database_url)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def worker(db: Database, settings: Settings) -> Iterator[Worker]:
    w = Worker(settings, db, name="test-worker")
    yield w
    w.stop()
