"""scim2-tester (python-scim, 0.5.x) against a live scimhub: discovery, CRUD, PATCH
add/replace/remove, attribute projection and `/.search` for Users and Groups
(RFC 7643 §4-§8, RFC 7644 §3.3-§3.7, §4).

The installed scim2-client (0.13) ships its network engine for `httpx2` only; scimhub's
dev dependencies have `httpx`, whose Client has the same API, so `HttpxSCIMClient` below
is that engine on `httpx.Client` (the same three methods as
`scim2_client.engines.httpx2.SyncSCIMClient`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from conformance_support import LiveServer
from scim2_client import BaseSyncSCIMClient
from scim2_client.errors import RequestNetworkException
from scim2_tester import CheckResult, Status, check_server

FAILED = {Status.ERROR, Status.CRITICAL}
# Skips scim2-tester makes when the server says a feature is absent. scimhub has every
# one of them (PATCH, root `/.search`), so such a skip is a failure here.
FEATURE_SKIPS = ("not supported",)


@contextmanager
def _network_errors() -> Iterator[None]:
    try:
        yield
    except httpx.RequestError as exc:
        wrapped = RequestNetworkException()
        wrapped.add_note(str(exc))
        raise wrapped from exc


class HttpxSCIMClient(BaseSyncSCIMClient):
    """scim2-client's synchronous network engine on an `httpx.Client`."""

    def __init__(self, client: httpx.Client, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.client = client

    def _stays_under_base_url(self, endpoint: str) -> bool:
        base_url = self.client.base_url
        if not base_url.is_absolute_url:
            return False
        try:
            url = self.client.build_request("GET", endpoint).url
        except httpx.InvalidURL:
            return False
        # httpx has no URL.origin (httpx2 has): compare scheme, host and port.
        origin = (url.scheme, url.host, url.port)
        return origin == (
            base_url.scheme,
            base_url.host,
            base_url.port,
        ) and url.raw_path.startswith(base_url.raw_path)

    def _parse_json(self, response: Any) -> Any:
        return response.json()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        with _network_errors():
            return self.client.request(method, url, **kwargs)


def _line(r: CheckResult) -> str:
    where = f"[{r.resource_type}] " if r.resource_type else ""
    data = repr(r.data)[:400] if r.data is not None else ""
    return f"  {r.status.name} {where}{r.title}: {r.reason}" + (
        f"\n      data: {data}" if data else ""
    )


def run_scim2_tester(server: LiveServer) -> list[CheckResult]:
    with httpx.Client(
        base_url=server.base_url + "/",
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=30,
    ) as http:
        client = HttpxSCIMClient(http)
        return check_server(client, raise_exceptions=False)


# RFC 7643 §4-§8, RFC 7644 §3.3-§3.7, §4: every check scim2-tester makes
def test_scim2_tester_reports_no_failed_check(
    live_server: LiveServer, record_property: pytest.RecordProperty
) -> None:
    results = run_scim2_tester(live_server)
    assert results, "scim2-tester ran no check"
    failed = [r for r in results if r.status in FAILED]
    feature_skips = [
        r
        for r in results
        if r.status == Status.SKIPPED and any(s in (r.reason or "") for s in FEATURE_SKIPS)
    ]
    other_skips = [r for r in results if r.status == Status.SKIPPED and r not in feature_skips]
    deviations = [r for r in results if r.status == Status.DEVIATION]
    record_property("scim2_tester_skipped", [_line(r) for r in other_skips])
    record_property("scim2_tester_deviations", [_line(r) for r in deviations])
    summary = ", ".join(
        f"{s.name.lower()} {n}" for s in Status if (n := sum(1 for r in results if r.status == s))
    )
    print(f"\nscim2-tester on {live_server.backend}: {summary}")
    for r in other_skips + deviations:
        print(_line(r))
    problems = failed + feature_skips
    assert not problems, (
        f"scim2-tester on {live_server.backend} ({summary}): {len(failed)} failed check(s), "
        f"{len(feature_skips)} skipped as if a feature scimhub has were absent:\n"
        + "\n".join(_line(r) for r in problems)
    )
    # The run reached the resource checks: discovery worked and both types were exercised.
    exercised = {r.resource_type for r in results if r.resource_type}
    assert {"User", "Group"} <= exercised, f"resource types exercised: {exercised}"
