"""`attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9) and the `returned`
characteristic (RFC 7643 §2.2). STUB: signatures are the contract."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scimhub.scim.schema import ResourceType


@dataclass(frozen=True, slots=True)
class Projection:
    attributes: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()

    @classmethod
    def parse(cls, attributes: str | list[str] | None, excluded: str | list[str] | None) -> Projection:
        """From query parameters (comma-separated) or a .search body (lists)."""
        raise NotImplementedError

    def includes(self, rt: ResourceType, name: str) -> bool:
        """Whether top-level attribute `name` (e.g. "members", "groups") will be in the
        output, so stores can skip loading what is not returned."""
        raise NotImplementedError


def project(rt: ResourceType, resource: dict[str, Any], projection: Projection) -> dict[str, Any]:
    """The full SCIM representation → what the client gets back."""
    raise NotImplementedError
