"""`POST /Bulk` (RFC 7644 §3.7): each operation runs through the same service as a single
request, in its own transaction, so one failed operation changes nothing of its own and
leaves the others standing."""

from __future__ import annotations

from typing import Any

from scimhub.resources.changes import NOBODY, Origin
from scimhub.resources.service import Preconditions, ResourceService
from scimhub.scim.bulk import BulkOperation, BulkRun, parse_bulk
from scimhub.scim.errors import ScimError
from scimhub.scim.etag import etag
from scimhub.scim.projection import Projection
from scimhub.settings import Settings

_EVERYTHING = Projection()


class BulkRunner:
    def __init__(self, settings: Settings, services: dict[str, ResourceService]) -> None:
        self.settings = settings
        self.services = {service.rt.name: service for service in services.values()}

    def run(
        self, tenant_id: str, body: Any, base_url: str, *, origin: Origin = NOBODY
    ) -> dict[str, Any]:
        """`origin`: who sent the bulk request; every operation is written as theirs."""
        request = parse_bulk(body, max_operations=self.settings.bulk_max_operations)
        run = BulkRun(request, base_url)
        for op in run:
            try:
                self._one(run, tenant_id, op, base_url, origin)
            except ScimError as error:
                run.failed(op, error)
        return run.response()

    def _one(
        self,
        run: BulkRun,
        tenant_id: str,
        op: BulkOperation,
        base_url: str,
        origin: Origin,
    ) -> None:
        assert op.resource_type is not None
        service = self.services[op.resource_type.name]
        if op.method == "POST":
            created = service.create(tenant_id, op.data, _EVERYTHING, base_url, origin=origin)
            run.succeeded(op, status=201, id=created.body["id"], version=etag(created.version))
            return
        assert op.resource_id is not None
        preconditions = Preconditions(if_match=op.version)
        if op.method == "DELETE":
            service.delete(tenant_id, op.resource_id, preconditions, origin=origin)
            run.succeeded(op, status=204)
            return
        write = service.replace if op.method == "PUT" else service.patch
        result = write(
            tenant_id,
            op.resource_id,
            op.data,
            preconditions,
            _EVERYTHING,
            base_url,
            origin=origin,
        )
        run.succeeded(op, status=200, version=etag(result.version))
