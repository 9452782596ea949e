"""SCIM tokens: list, create (shown once), regenerate with an optional grace period,
revoke, and bring your own (a SHA-512 digest)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Body, Path

from scimhub.admin.deps import Context, Manager, Reader
from scimhub.admin.errors import error_responses
from scimhub.admin.models import (
    NewToken,
    TokenCreate,
    TokenImport,
    TokenList,
    TokenOut,
    TokenRegenerate,
)
from scimhub.tenancy import tokens

router = APIRouter(tags=["tokens"])

TokenId = Annotated[str, Path(description="The token's id (from the token list).")]


@router.get(
    "/tenants/{tenant}/tokens",
    summary="List the tenant's SCIM tokens (never the tokens themselves)",
    response_model=TokenList,
    responses=error_responses(401, 404),
)
def list_tokens(access: Reader, ctx: Context) -> TokenList:
    with ctx.db.read() as conn:
        found = tokens.list_tokens(conn, access.tenant.id)
    return TokenList(tokens=[TokenOut.of(t) for t in found])


@router.post(
    "/tenants/{tenant}/tokens",
    summary="Create a SCIM token: the response shows it once",
    status_code=201,
    response_model=NewToken,
    responses=error_responses(400, 401, 403, 404, 409),
)
def create_token(
    access: Manager, ctx: Context, body: Annotated[TokenCreate | None, Body()] = None
) -> NewToken:
    body = body or TokenCreate()
    with ctx.db.write() as conn:
        token, info = tokens.issue_token(
            conn,
            access.tenant,
            created_by=access.actor,
            expires_at=body.expires_at,
            provider=body.provider,
            require_sso=ctx.require_sso,
        )
    return NewToken(token=token, token_info=TokenOut.of(info))


@router.post(
    "/tenants/{tenant}/tokens/import",
    summary="Register the SHA-512 digest of a token you generated (bring your own token)",
    status_code=201,
    response_model=TokenOut,
    responses=error_responses(400, 401, 403, 404, 409),
)
def import_token(access: Manager, ctx: Context, body: TokenImport) -> TokenOut:
    with ctx.db.write() as conn:
        info = tokens.import_token_hash(
            conn,
            access.tenant,
            body.sha512_hex,
            created_by=access.actor,
            provider=body.provider,
            expires_at=body.expires_at,
            require_sso=ctx.require_sso,
        )
    return TokenOut.of(info)


@router.post(
    "/tenants/{tenant}/tokens/{token_id}/regenerate",
    summary="Replace a token: the old one stops now, or after `grace_seconds`",
    status_code=201,
    response_model=NewToken,
    responses=error_responses(400, 401, 403, 404, 409),
)
def regenerate_token(
    access: Manager,
    ctx: Context,
    token_id: TokenId,
    body: Annotated[TokenRegenerate | None, Body()] = None,
) -> NewToken:
    body = body or TokenRegenerate()
    grace = timedelta(seconds=body.grace_seconds) if body.grace_seconds else None
    with ctx.db.write() as conn:
        token, info = tokens.regenerate_token(
            conn,
            access.tenant,
            token_id,
            grace=grace,
            created_by=access.actor,
            require_sso=ctx.require_sso,
        )
        old = tokens.get_token(conn, access.tenant.id, token_id)
    return NewToken(
        token=token, token_info=TokenOut.of(info), replaces=TokenOut.of(old) if old else None
    )


@router.post(
    "/tenants/{tenant}/tokens/{token_id}/revoke",
    summary="Revoke a token: the very next request with it gets 401",
    response_model=TokenOut,
    responses=error_responses(401, 403, 404),
)
def revoke_token(access: Manager, ctx: Context, token_id: TokenId) -> TokenOut:
    with ctx.db.write() as conn:
        info = tokens.revoke_token(conn, access.tenant.id, token_id, revoked_by=access.actor)
    return TokenOut.of(info)
