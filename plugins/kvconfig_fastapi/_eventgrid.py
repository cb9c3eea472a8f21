"""Event Grid webhook for Key Vault events: the subscription handshake and ``SecretNewVersionCreated``.

Both schemas Event Grid delivers are understood: the Event Grid schema (a JSON array of events with ``eventType``
and ``data``; the subscription is validated by answering ``{"validationResponse": <validationCode>}``) and
CloudEvents 1.0 (``type``; validated by an ``OPTIONS`` request answered with ``WebHook-Allowed-Origin``).

Every request is authenticated first (a :class:`~kvconfig_fastapi.WebhookAuthenticator`: 401 otherwise), its body
is bounded (413 past ``max_body_bytes``, checked before anything is parsed) and must be JSON of bounded depth (400).
A ``Microsoft.KeyVault.SecretNewVersionCreated`` event (``data``: ``VaultName``, ``ObjectName``, ``Id``) for a
secret the settings use is announced (``target.invalidate``: a fleet sharing Redis tells every other replica) and
asks the target to refresh that secret only; the target coalesces bursts.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Request, Response

from kvconfig_fastapi._coalesce import SecretName
from kvconfig_fastapi._webhook_auth import WebhookAuthenticator

__all__ = [
    "MAX_BODY_BYTES",
    "SECRET_NEW_VERSION_CREATED",
    "SUBSCRIPTION_VALIDATION",
    "EventTarget",
    "eventgrid_router",
]

logger = logging.getLogger("kvconfig.fastapi")

SUBSCRIPTION_VALIDATION = "Microsoft.EventGrid.SubscriptionValidationEvent"
SECRET_NEW_VERSION_CREATED = "Microsoft.KeyVault.SecretNewVersionCreated"
#: Event Grid delivers at most 1 MB per request (a batch of events included).
MAX_BODY_BYTES = 1024 * 1024


class RefreshResult(Protocol):
    @property
    def ok(self) -> bool: ...

    @property
    def changed(self) -> frozenset[str]: ...


class EventTarget(Protocol):
    """What the router drives: ``KvConfig`` is one."""

    def uses(self, vault_url: str, name: str) -> bool: ...

    def invalidate(self, vault_url: str, name: str) -> bool: ...

    def refresh_secrets(self, secrets: frozenset[SecretName]) -> Awaitable[RefreshResult | None]: ...


def eventgrid_router(
    target: EventTarget,
    path: str,
    *,
    authenticate: WebhookAuthenticator | Callable[[Request], Awaitable[bool]] | None,
    max_body_bytes: int = MAX_BODY_BYTES,
    **router_options: Any,
) -> APIRouter:
    """``POST path`` (events) and ``OPTIONS path`` (CloudEvents handshake).

    :keyword authenticate: who may post (401 otherwise); ``None`` lets anyone in, and must have been asked for
        explicitly by the caller.
    """
    router = APIRouter(**router_options)

    async def authorise(request: Request) -> None:
        if authenticate is not None and not await authenticate(request):
            raise HTTPException(status_code=401, detail="Missing or wrong credentials.")

    @router.options(path, name="kvconfig_eventgrid_handshake")
    async def handshake(request: Request) -> Response:
        await authorise(request)
        origin = request.headers.get("webhook-request-origin", "*")
        return Response(status_code=200, headers={"WebHook-Allowed-Origin": origin, "WebHook-Allowed-Rate": "*"})

    @router.post(path, name="kvconfig_eventgrid")
    async def receive(request: Request) -> dict[str, Any]:
        await authorise(request)
        events = _events(await _read_body(request, max_body_bytes))
        wanted: set[SecretName] = set()
        for event in events:
            kind = event.get("eventType") or event.get("type")
            raw = event.get("data")
            data: dict[str, Any] = raw if isinstance(raw, dict) else {}
            if kind == SUBSCRIPTION_VALIDATION:
                code = data.get("validationCode")
                if not isinstance(code, str):
                    raise HTTPException(status_code=400, detail="The validation event has no validationCode.")
                logger.info("Event Grid subscription validated")
                return {"validationResponse": code}
            if kind == SECRET_NEW_VERSION_CREATED:
                vault_url = _vault_url(data)
                name = data.get("ObjectName")
                if vault_url is None or not isinstance(name, str) or not name:
                    raise HTTPException(status_code=400, detail="The event names no vault or secret.")
                used = target.uses(vault_url, name)
                logger.info("New version of secret %r in %s (used by the settings: %s)", name, vault_url, used)
                if used:
                    target.invalidate(vault_url, name)  # with a fleet on Redis: every replica hears of it
                    wanted.add((vault_url.lower(), name.lower()))
        if not wanted:
            return {"refreshed": False}
        outcome = await target.refresh_secrets(frozenset(wanted))
        if outcome is None:  # read recently: a coalesced refresh will read it when the interval has passed
            return {"refreshed": False, "scheduled": True}
        return {"refreshed": True, "ok": outcome.ok, "changed": sorted(outcome.changed)}

    return router


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(status_code=413, detail=f"The body is larger than {limit} bytes.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(status_code=413, detail=f"The body is larger than {limit} bytes.")
    return bytes(body)


def _events(body: bytes) -> list[dict[str, Any]]:
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
        raise HTTPException(status_code=400, detail="The body is not JSON (or is nested too deeply).") from None
    events = parsed if isinstance(parsed, list) else [parsed]
    if not all(isinstance(event, dict) for event in events):
        raise HTTPException(status_code=400, detail="Each event must be a JSON object.")
    return events


def _vault_url(data: dict[str, Any]) -> str | None:
    identifier = data.get("Id")
    if isinstance(identifier, str) and identifier.startswith("https://"):
        parts = urlsplit(identifier)
        return f"https://{parts.netloc}" if parts.netloc else None
    vault = data.get("VaultName")
    return f"https://{vault}.vault.azure.net" if isinstance(vault, str) and vault else None
