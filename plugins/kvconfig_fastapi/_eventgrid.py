"""Event Grid webhook for Key Vault events: the subscription handshake and ``SecretNewVersionCreated``.

Both schemas Event Grid delivers are understood: the Event Grid schema (a JSON array of events with ``eventType``
and ``data``; the subscription is validated by answering ``{"validationResponse": <validationCode>}``) and
CloudEvents 1.0 (``type``; validated by an ``OPTIONS`` request answered with ``WebHook-Allowed-Origin``).

A ``Microsoft.KeyVault.SecretNewVersionCreated`` event (``data``: ``VaultName``, ``ObjectName``, ``Id``) drops the
cached latest version of that secret and, when the settings use it, refreshes them at once.
"""

from __future__ import annotations

import hmac
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Request, Response

if TYPE_CHECKING:
    from kvconfig_fastapi._kvconfig import KvConfig

__all__ = ["SECRET_NEW_VERSION_CREATED", "SUBSCRIPTION_VALIDATION", "eventgrid_router"]

logger = logging.getLogger("kvconfig.fastapi")

SUBSCRIPTION_VALIDATION = "Microsoft.EventGrid.SubscriptionValidationEvent"
SECRET_NEW_VERSION_CREATED = "Microsoft.KeyVault.SecretNewVersionCreated"


def eventgrid_router(kv: KvConfig[Any], path: str, *, token: str | None = None, **router_options: Any) -> APIRouter:
    """``POST path`` (events) and ``OPTIONS path`` (CloudEvents handshake).

    :keyword token: when set, requests must carry it as the ``token`` query parameter (put it in the subscription's
        endpoint URL), or get 401.
    """
    router = APIRouter(**router_options)

    def authorise(request: Request) -> None:
        if token is not None and not hmac.compare_digest(request.query_params.get("token", ""), token):
            raise HTTPException(status_code=401, detail="Missing or wrong token.")

    @router.options(path, name="kvconfig_eventgrid_handshake")
    async def handshake(request: Request) -> Response:
        authorise(request)
        origin = request.headers.get("webhook-request-origin", "*")
        return Response(status_code=200, headers={"WebHook-Allowed-Origin": origin, "WebHook-Allowed-Rate": "*"})

    @router.post(path, name="kvconfig_eventgrid")
    async def receive(request: Request) -> dict[str, Any]:
        authorise(request)
        try:
            body = await request.json()
        except ValueError:
            raise HTTPException(status_code=400, detail="The body is not JSON.") from None
        events = body if isinstance(body, list) else [body]
        refresh = False
        for event in events:
            if not isinstance(event, dict):
                raise HTTPException(status_code=400, detail="Each event must be a JSON object.")
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
                if vault_url is None or not isinstance(name, str):
                    raise HTTPException(status_code=400, detail="The event names no vault or secret.")
                used = kv.invalidate(vault_url, name)
                logger.info("New version of secret %r in %s (used by the settings: %s)", name, vault_url, used)
                refresh = refresh or used
        if refresh:
            outcome = await kv.refresh()
            return {"refreshed": True, "ok": outcome.ok, "changed": sorted(outcome.changed)}
        return {"refreshed": False}

    return router


def _vault_url(data: dict[str, Any]) -> str | None:
    identifier = data.get("Id")
    if isinstance(identifier, str) and identifier.startswith("https://"):
        parts = urlsplit(identifier)
        return f"https://{parts.netloc}"
    vault = data.get("VaultName")
    return f"https://{vault}.vault.azure.net" if isinstance(vault, str) and vault else None
