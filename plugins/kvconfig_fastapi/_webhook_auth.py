"""Who may post Key Vault events to the app: a shared secret, or Event Grid's Entra ID (Azure AD) bearer token.

* :class:`SharedSecret`: the subscription's endpoint URL carries ``?token=<secret>`` (or a delivery property sets
  the ``X-Kvconfig-Token`` header); compared in constant time.
* :class:`EntraIdToken`: Event Grid's AAD-protected webhook delivery sends ``Authorization: Bearer <JWT>`` issued by
  your tenant for your app registration; the signature (the tenant's published keys), issuer, audience, expiry and the
  calling application (Event Grid's) are checked.

An authenticator answers ``True`` (let in) or ``False`` (401); a malformed credential is ``False``, never an error.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Iterable
from typing import Any, Protocol

from starlette.requests import HTTPConnection

__all__ = ["EVENT_GRID_APP_ID", "EntraIdToken", "SharedSecret", "SigningKeys", "WebhookAuthenticator"]

logger = logging.getLogger("kvconfig.fastapi")

#: The application id of Azure Event Grid's first-party app, the caller of AAD-protected webhook deliveries.
EVENT_GRID_APP_ID = "4962773b-9cdb-44cf-a8bf-237846a00ab7"
_MAX_CREDENTIAL = 16384  # bytes: any longer token or secret is refused unread


class WebhookAuthenticator(Protocol):
    """Decides whether a request to the Event Grid router comes from who may send events."""

    async def __call__(self, request: HTTPConnection) -> bool: ...


class SharedSecret:
    """The request carries ``secret`` as the ``token`` query parameter or the ``X-Kvconfig-Token`` header.

    Put the secret in the subscription's endpoint URL (``https://app/events/keyvault?token=...``) or in a secret
    delivery property (header ``X-Kvconfig-Token``). Compared in constant time, as UTF-8 bytes.
    """

    def __init__(self, secret: str, *, query_parameter: str = "token", header: str = "x-kvconfig-token") -> None:
        if not secret:
            raise ValueError("The Event Grid shared secret cannot be empty.")
        self._secret = secret.encode("utf-8")
        self.query_parameter = query_parameter
        self.header = header

    async def __call__(self, request: HTTPConnection) -> bool:
        given = request.query_params.get(self.query_parameter) or request.headers.get(self.header) or ""
        candidate = given.encode("utf-8", "surrogateescape")
        if len(candidate) > _MAX_CREDENTIAL:
            return False
        return hmac.compare_digest(candidate, self._secret)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(query_parameter={self.query_parameter!r}, header={self.header!r})"


class SigningKeys(Protocol):
    """Finds the key that signed a JWT: ``jwt.PyJWKClient`` (the tenant's JWKS endpoint) is one."""

    def get_signing_key_from_jwt(self, token: str) -> Any: ...


class EntraIdToken:
    """Event Grid's AAD-protected delivery: a bearer token from ``tenant_id`` for ``audience``, sent by Event Grid.

    :param tenant_id: your directory (tenant) id.
    :param audience: the application id URI or client id of the app registration the subscription targets (the
        token's ``aud``).
    :keyword client_ids: application ids allowed to call (the token's ``azp``/``appid``); default Event Grid's.
    :keyword signing_keys: where signing keys come from; default ``jwt.PyJWKClient`` on the tenant's keys endpoint.
    :keyword leeway: seconds of clock skew accepted on ``exp``/``nbf``.
    Needs PyJWT with cryptography (``pip install 'kvconfig[fastapi]'``).
    """

    def __init__(
        self,
        tenant_id: str,
        audience: str,
        *,
        client_ids: Iterable[str] = (EVENT_GRID_APP_ID,),
        signing_keys: SigningKeys | None = None,
        authority: str = "https://login.microsoftonline.com",
        leeway: float = 60.0,
    ) -> None:
        import jwt

        if not tenant_id or not audience:
            raise ValueError("EntraIdToken needs a tenant_id and an audience.")
        self.tenant_id = tenant_id
        self.audience = audience
        self.client_ids = frozenset(client_ids)
        self.issuers = (f"{authority.rstrip('/')}/{tenant_id}/v2.0", f"https://sts.windows.net/{tenant_id}/")
        self.leeway = leeway
        self._keys: SigningKeys = signing_keys or jwt.PyJWKClient(
            f"{authority.rstrip('/')}/{tenant_id}/discovery/v2.0/keys", cache_keys=True, timeout=10
        )

    async def __call__(self, request: HTTPConnection) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token or len(token) > _MAX_CREDENTIAL or not token.isascii():
            return False
        # The keys endpoint is read (and cached) with blocking I/O: keep it off the event loop.
        return await asyncio.to_thread(self._valid, token.strip())

    def _valid(self, token: str) -> bool:
        import jwt

        try:
            key = self._keys.get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token,
                key.key if hasattr(key, "key") else key,
                algorithms=["RS256"],
                audience=self.audience,
                issuer=self.issuers,
                leeway=self.leeway,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            logger.info("Event Grid request refused: %s", type(exc).__name__)
            return False
        caller = claims.get("azp") or claims.get("appid")
        if self.client_ids and caller not in self.client_ids:
            logger.info("Event Grid request refused: token issued to another application")
            return False
        return True

    def __repr__(self) -> str:
        return f"{type(self).__name__}(tenant_id={self.tenant_id!r}, audience={self.audience!r})"
