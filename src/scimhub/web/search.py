"""`POST /.search` at the service root (RFC 7644 §3.4.3): one result list over every
resource type, Users first, then Groups."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from scimhub.resources.service import ResourceService
from scimhub.scim.errors import InvalidFilter, InvalidValue
from scimhub.scim.listing import ListQuery, list_response


def root_search(
    services: list[ResourceService], tenant_id: str, query: ListQuery, base_url: str
) -> dict[str, Any]:
    if query.cursor is not None:
        raise InvalidValue("cursor paging is offered per resource type, not at the root")
    # A filter may name an attribute only one type has (`userName`): that type matches
    # it, the others match nothing. It is invalid only if no type can evaluate it.
    totals: list[tuple[ResourceService, int]] = []
    errors: list[InvalidFilter] = []
    for service in services:
        try:
            counted = service.search(tenant_id, replace(query, count=0), base_url)
        except InvalidFilter as error:
            errors.append(error)
            continue
        totals.append((service, int(counted["totalResults"])))
    if not totals:
        raise errors[0]
    skip = query.start_index - 1
    wanted = query.count
    resources: list[dict[str, Any]] = []
    for service, total in totals:
        if wanted <= 0:
            break
        if skip >= total:
            skip -= total
            continue
        part = replace(query, start_index=skip + 1, count=wanted)
        found = service.search(tenant_id, part, base_url)["Resources"]
        resources.extend(found)
        wanted -= len(found)
        skip = 0
    return list_response(resources, total=sum(t for _, t in totals), start_index=query.start_index)
