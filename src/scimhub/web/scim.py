"""The SCIM endpoints under `/scim/v2/{tenant}` and `/scim/v2/{tenant}/{provider}`
(RFC 7644 §3.2).

One dispatcher reads the path segments rather than a route table: endpoint names match
case-insensitively, a trailing slash is the same route, and every unknown path answers
with a SCIM 404 instead of a framework page. A first segment that is no endpoint name is
a provider segment (folded to lower case): the IdP that sends the request, recorded on
every user and group it writes and part of the base URL in `meta.location` and `$ref`.

Every request: the bearer token (401 unless it is a live token of this tenant, usable at
this provider), then the gates (403 naming the refusal: tenant suspended, SCIM disabled,
plan, SSO), then the endpoint. Token validity is read from the database on every
request (a revocation holds from the next one, on every instance); only usage counts
are batched (`UsageRecorder`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from functools import partial
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from scimhub.audit import Entry, record_detached
from scimhub.db.engine import Database
from scimhub.db.group import GroupCommit
from scimhub.lifecycle.hooks import LifecycleHooks
from scimhub.resources.changes import ChangeObserver, Origin
from scimhub.resources.service import ResourceService, Result
from scimhub.scim import discovery, etag
from scimhub.scim.errors import (
    Forbidden,
    MethodNotAllowed,
    NotFound,
    NotImplementedByServer,
    PreconditionFailed,
    ScimError,
    Unauthorized,
)
from scimhub.scim.listing import list_response, parse_query_params, parse_search_body
from scimhub.scim.schema import GROUP, USER
from scimhub.settings import Settings
from scimhub.tenancy.errors import InvalidInput
from scimhub.tenancy.gates import scim_refusal
from scimhub.tenancy.tenants import Tenant
from scimhub.tenancy.tokens import SCIM_ENDPOINTS, UsageRecorder, authenticate, normalize_provider
from scimhub.web.bulk import BulkRunner
from scimhub.web.request import (
    parse_json,
    preconditions_of,
    projection_of,
    read_body,
    scim_base_url,
)
from scimhub.web.responses import ScimResponse
from scimhub.web.search import root_search

_WRITE_METHODS = ("POST", "PUT", "PATCH")
# SQLite: writes with a body up to this size run on the event loop's own thread.
INLINE_WRITE_MAX_BYTES = 65_536


def split_provider(segments: list[str]) -> tuple[str | None, list[str]]:
    """The provider segment (lower-cased) and the segments after it: a first segment
    that is not a SCIM endpoint name (case-insensitively) is a provider."""
    if segments and segments[0].lower() not in SCIM_ENDPOINTS:
        return segments[0].lower(), segments[1:]
    return None, segments


class ScimEndpoints:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        usage: UsageRecorder | None = None,
        lifecycle: LifecycleHooks | None = None,
        observers: list[ChangeObserver] | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.usage = usage or UsageRecorder()
        # The lifecycle rules act on every SCIM write (scimhub/lifecycle/hooks.py);
        # `lifecycle.grant_listeners` is where the event outbox hears role grant changes.
        # The audit trail and the event outbox (web/app.py) observe every write too, in
        # its own transaction, after the lifecycle's own changes.
        self.lifecycle = lifecycle or LifecycleHooks(db.dialect)
        self.services = {
            rt_name: ResourceService(
                db, settings, rt, observers=observers or (), hooks=self.lifecycle
            )
            for rt_name, rt in (("users", USER), ("groups", GROUP))
        }
        self.bulk = BulkRunner(settings, self.services)
        # On SQLite the writes of a process run one at a time (db/engine.py), so handing
        # a small write to a worker thread buys no concurrency; it only costs the hop
        # there and back (two thread wake-ups and GIL hand-offs, ~0.3 ms of CPU of a
        # ~1.5 ms POST /Users). Small writes run inline instead. Reads, bulk requests and
        # large bodies still go to the thread pool so that they never hold up the loop,
        # and so does everything on PostgreSQL, where a statement waits on the network.
        self.inline_writes = db.dialect == "sqlite"
        # And the inline writes that come together share one transaction (db/group.py).
        self.groups = GroupCommit(db) if db.groups_writes else None

    async def handle(self, request: Request) -> Response:
        segments = [s for s in request.path_params.get("rest", "").split("/") if s]
        _, endpoint = split_provider(segments)
        is_bulk = _is_bulk(endpoint)
        limit = self.settings.bulk_max_payload_bytes if is_bulk else self.settings.max_request_bytes
        try:
            raw = await read_body(request, limit) if request.method in _WRITE_METHODS else None
        except ScimError as error:
            await run_in_threadpool(self._audit_refusal, request, segments, error)
            raise
        if (
            self.inline_writes
            and not is_bulk
            and _writes(request.method, endpoint)
            and len(raw or b"") <= INLINE_WRITE_MAX_BYTES
        ):
            if self.groups is not None:
                return await self.groups.run(partial(self._guarded, request, segments, raw))
            return self._guarded(request, segments, raw)
        return await run_in_threadpool(self._guarded, request, segments, raw)

    def _guarded(self, request: Request, segments: list[str], raw: bytes | None) -> Response:
        try:
            return self._dispatch(request, segments, raw)
        except Exception as error:
            # The request's transaction has rolled back: record the refusal or failure
            # in a short transaction of its own, then let web/errors.py answer.
            self._audit_refusal(request, segments, error)
            raise

    def _audit_refusal(self, request: Request, segments: list[str], error: Exception) -> None:
        status = error.status if isinstance(error, ScimError) else 500
        provider, rest = split_provider(segments)
        head = rest[0].lower() if rest else ""
        rt = {"users": USER, "groups": GROUP}.get(head)
        resource_id = rest[1] if rt is not None and len(rest) == 2 else None
        message = str(error) if isinstance(error, ScimError) else "internal error"
        entry = Entry(
            operation=f"{request.method} /{'/'.join(rest)}"[:200],
            outcome="refused" if status in (401, 403) else "failed",
            origin=Origin(
                provider=provider,
                actor=getattr(request.state, "scim_actor", None),
                request_id=_request_id(request),
                user_agent=request.headers.get("user-agent"),
            ),
            resource_type=rt.name if rt is not None else None,
            resource_id=resource_id,
            status=status,
            error=message,
        )
        record_detached(self.db, entry, tenant_slug=request.path_params.get("tenant"))

    # -- dispatch --------------------------------------------------------------------------

    def _dispatch(self, request: Request, segments: list[str], raw: bytes | None) -> Response:
        if "\x00" in request.url.path:
            # No tenant slug or id holds U+0000; PostgreSQL would refuse it as a parameter.
            raise NotFound("no SCIM endpoint at this path")
        provider, endpoint = split_provider(segments)
        if _is_bulk(endpoint):
            # RFC 7644 §3.7: each bulk operation is its own transaction.
            return self._serve(request, provider, endpoint, raw)
        # Everything else runs in one transaction: the token check and the work share
        # it (one BEGIN and one COMMIT per request), and a failure changes nothing.
        with self.db.request(write=_writes(request.method, endpoint)):
            return self._serve(request, provider, endpoint, raw)

    def _serve(
        self, request: Request, provider: str | None, segments: list[str], raw: bytes | None
    ) -> Response:
        tenant, token_id = self._authenticate(request, provider)
        if provider is not None:
            try:
                normalize_provider(provider)
            except InvalidInput:
                raise NotFound("no SCIM endpoint at this path") from None
        origin = Origin(
            provider=provider,
            actor=f"token:{token_id}",
            request_id=_request_id(request),
            user_agent=request.headers.get("user-agent"),
        )
        base_url = scim_base_url(self.settings, request, tenant.slug, provider)
        method = request.method
        if not segments:
            raise NotFound("no SCIM endpoint at this path")
        head = segments[0].lower()
        rest = segments[1:]
        if head in self.services:
            return self._resources(
                request, tenant, base_url, self.services[head], rest, raw, origin
            )
        if head == ".search" and not rest:
            _allow(method, "POST")
            query = parse_search_body(
                _json(request, raw),
                default_count=self.settings.default_page_size,
                max_count=self.settings.max_page_size,
            )
            body = root_search(list(self.services.values()), tenant.id, query, base_url)
            return ScimResponse(body)
        if head == "bulk" and not rest:
            _allow(method, "POST")
            body = self.bulk.run(tenant.id, _json(request, raw), base_url, origin=origin)
            return ScimResponse(body)
        if head == "me":
            # RFC 7644 §3.11: /Me is optional; scimhub's tokens are not users.
            raise NotImplementedByServer("/Me is not supported: SCIM tokens act for no user")
        return self._discovery(method, head, rest, base_url)

    def _resources(
        self,
        request: Request,
        tenant: Tenant,
        base_url: str,
        service: ResourceService,
        rest: list[str],
        raw: bytes | None,
        origin: Origin,
    ) -> Response:
        method = request.method
        settings = self.settings
        if not rest:
            _allow(method, "GET", "POST")
            if method == "GET":
                query = parse_query_params(
                    request.query_params,
                    default_count=settings.default_page_size,
                    max_count=settings.max_page_size,
                )
                return ScimResponse(service.search(tenant.id, query, base_url))
            created = service.create(
                tenant.id, _json(request, raw), projection_of(request), base_url, origin=origin
            )
            location = f"{base_url}{service.rt.endpoint}/{created.body['id']}"
            return _resource_response(created, 201, location=location)
        if len(rest) != 1:
            raise NotFound("no SCIM endpoint at this path")
        if rest[0] == ".search":
            _allow(method, "POST")
            query = parse_search_body(
                _json(request, raw),
                default_count=settings.default_page_size,
                max_count=settings.max_page_size,
            )
            return ScimResponse(service.search(tenant.id, query, base_url))
        id = rest[0]
        _allow(method, "GET", "PUT", "PATCH", "DELETE")
        preconditions = preconditions_of(request)
        if method == "GET":
            found = service.get(tenant.id, id, projection_of(request), base_url)
            if preconditions.if_match is not None and not etag.matches(
                preconditions.if_match, found.version
            ):
                raise PreconditionFailed(f"If-Match {preconditions.if_match} does not match")
            if preconditions.if_none_match is not None and etag.matches(
                preconditions.if_none_match, found.version
            ):
                # RFC 7232 §4.1: unchanged since the client's copy.
                return Response(status_code=304, headers={"etag": etag.etag(found.version)})
            return _resource_response(found, 200)
        if method == "DELETE":
            service.delete(tenant.id, id, preconditions, origin=origin)
            return Response(status_code=204)
        body = _json(request, raw)
        if method == "PUT":
            result = service.replace(
                tenant.id,
                id,
                body,
                preconditions,
                projection_of(request),
                base_url,
                origin=origin,
            )
        else:
            result = service.patch(
                tenant.id,
                id,
                body,
                preconditions,
                projection_of(request),
                base_url,
                origin=origin,
            )
        return _resource_response(result, 200)

    def _discovery(self, method: str, head: str, rest: list[str], base_url: str) -> Response:
        if head == "serviceproviderconfig" and not rest:
            _allow(method, "GET")
            return ScimResponse(discovery.service_provider_config(self.settings, base_url))
        if head in ("resourcetypes", "schemas") and len(rest) <= 1:
            _allow(method, "GET")
            if head == "resourcetypes":
                if rest:
                    return ScimResponse(discovery.resource_type(rest[0], base_url))
                docs = discovery.resource_types(base_url)
            else:
                if rest:
                    return ScimResponse(discovery.schema(rest[0], base_url))
                docs = discovery.schemas(base_url)
            return ScimResponse(list_response(docs, total=len(docs), start_index=1))
        raise NotFound("no SCIM endpoint at this path")

    # -- request context -------------------------------------------------------------------

    def _authenticate(self, request: Request, provider: str | None) -> tuple[Tenant, str]:
        """The tenant and the token's id, when the bearer token is live for the tenant
        at this provider (401 otherwise) and every gate passes (403 naming the refusal
        otherwise)."""
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("a bearer token is required")
        slug = request.path_params["tenant"]
        # In a write group (db/group.py) the members share one transaction, in which a
        # token's row and its tenant's cannot change: the first member's check serves
        # the others, down to the token's expiry.
        memo = self.db.group_memo()
        key = ("token", slug, token, provider)
        found = memo.get(key) if memo is not None else None
        if found is None or not found.live_at(datetime.now(UTC)):
            with self.db.read() as conn:
                found = authenticate(conn, slug, token, provider=provider)
            if found is None:
                raise Unauthorized("the token is not valid for this tenant")
            if memo is not None:
                memo[key] = found
        self.usage.record(found.token_id)
        request.state.scim_actor = f"token:{found.token_id}"
        refusal = scim_refusal(found.tenant, found.sso, require_sso=self.settings.require_sso)
        if refusal is not None:
            raise Forbidden(f"SCIM is not available: {refusal.message} ({refusal.code})")
        return found.tenant, found.token_id


def _is_bulk(endpoint: list[str]) -> bool:
    return len(endpoint) == 1 and endpoint[0].lower() == "bulk"


def _writes(method: str, endpoint: list[str]) -> bool:
    """Whether a request may write: any write method, except a POST to `.search`."""
    if method not in ("POST", "PUT", "PATCH", "DELETE"):
        return False
    return not (method == "POST" and endpoint and endpoint[-1] == ".search")


def _request_id(request: Request) -> str:
    """The client's `X-Request-Id`, else the id web/errors.py gave the request."""
    given = request.headers.get("x-request-id")
    if given:
        return given[:64]
    return str(request.scope.get("state", {}).get("request_id") or uuid.uuid4().hex)


def _allow(method: str, *allowed: str) -> None:
    if method not in allowed:
        raise MethodNotAllowed(
            f"{method} is not allowed here; allowed: {', '.join(allowed)}", allowed
        )


def _json(request: Request, raw: bytes | None) -> Any:
    return parse_json(request, raw or b"")


def _resource_response(result: Result, status: int, *, location: str = "") -> ScimResponse:
    headers = {"etag": etag.etag(result.version)}
    if location:
        # RFC 7644 §3.3: the Location header carries the new resource's URI.
        headers["location"] = location
    return ScimResponse(result.body, status_code=status, headers=headers)
