"""JWT-shaped access tokens the fake signs and verifies, and the token credentials that issue them.

The fake signs its tokens (HS256, a key private to each :class:`~kvconfig.fake.FakeKeyVault`) and marks them with
its own ``kid`` header. A token carrying that mark is verified strictly (signature, audience, expiry): a tampered,
expired or wrong-audience token gets 401. Any other bearer token (a test double's opaque string) is treated as an
anonymous caller, so existing test set-ups keep working while a vault enforces no access control.
"""

from __future__ import annotations

import secrets as _secrets
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
from azure.core.credentials import AccessToken, AccessTokenInfo, TokenRequestOptions

from kvconfig.fake.core.clock import Clock
from kvconfig.fake.core.errors import ServiceError
from kvconfig.fake.core.identity import Identity

__all__ = ["FakeAsyncCredential", "FakeCredential", "Identity", "TokenAuthority"]

_KID = "kvconfig-fake"


ANONYMOUS = Identity("anonymous", object_id="00000000-0000-0000-0000-000000000000")
# Marks a cached token that carried the fake's mark but failed verification.
_INVALID = Identity("invalid-token", object_id="ffffffff-ffff-ffff-ffff-ffffffffffff")
_CACHE_SIZE = 4096
# Entra ID's token validation tolerates five minutes of clock skew on nbf.
_CLOCK_SKEW = 300


@dataclass
class TokenAuthority:
    """Issues and verifies the fake's tokens against one clock."""

    clock: Clock
    key: bytes = field(default_factory=lambda: _secrets.token_bytes(32), repr=False)
    _verified: dict[str, tuple[bytes, dict[str, Any] | None, Identity | None]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def issue(self, identity: Identity, audience: str, *, lifetime: float = 3600.0) -> tuple[str, int]:
        now = int(self.clock.now())
        expires = int(now + lifetime)
        claims: dict[str, Any] = {
            "aud": audience,
            "iss": f"https://sts.windows.net/{identity.tenant_id}/",
            "iat": now,
            "nbf": now - 300,
            "exp": expires,
            "oid": identity.object_id,
            "sub": identity.object_id,
            "tid": identity.tenant_id,
            "name": identity.name,
            "ipaddr": identity.client_ip,
        }
        if identity.app_id:
            claims["appid"] = identity.app_id
        token = jwt.encode(claims, self.key, algorithm="HS256", headers={"kid": _KID})
        return token, expires

    def verify(self, token: str, resource: str) -> Identity | None:
        """Return the token's identity, ``None`` for a foreign (anonymous) token, or raise a 401 ServiceError."""
        # Decoding and checking the signature is most of the cost of a request, and a client sends the same token
        # for an hour: remember what each token string decoded to. Audience and expiry are checked every time.
        cached = self._verified.get(token)
        if cached is None or cached[0] is not self.key:
            cached = (self.key, *self._decode(token))
            if len(self._verified) >= _CACHE_SIZE:
                self._verified.clear()
            self._verified[token] = cached
        _key, claims, identity = cached
        if claims is None:
            if identity is _INVALID:
                raise ServiceError.invalid_token("the token's signature is not valid.")
            return None
        audience = str(claims.get("aud", "")).rstrip("/")
        if audience != resource.rstrip("/"):
            raise ServiceError.wrong_audience(resource, audience)
        now = self.clock.now()
        if float(claims.get("exp", 0)) <= now:
            raise ServiceError.expired_token()
        if float(claims.get("nbf", 0)) > now + _CLOCK_SKEW:
            raise ServiceError.token_not_yet_valid()
        return identity

    def _decode(self, token: str) -> tuple[dict[str, Any] | None, Identity | None]:
        """(claims, identity) of one of this fake's tokens; (None, None) for a foreign token; (None, _INVALID) for a
        token that carries the fake's mark but fails the signature check."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return None, None
        if header.get("kid") != _KID:
            return None, None
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self.key,
                algorithms=["HS256"],
                options={"verify_exp": False, "verify_nbf": False, "verify_aud": False, "verify_iat": False},
            )
        except jwt.PyJWTError:
            return None, _INVALID
        identity = Identity(
            name=str(claims.get("name", "")),
            tenant_id=str(claims.get("tid", "")),
            object_id=str(claims.get("oid", "")),
            app_id=claims.get("appid"),
            client_ip=str(claims.get("ipaddr", "127.0.0.1")),
        )
        return claims, identity


def _audience(scopes: tuple[str, ...]) -> str:
    if not scopes:
        raise ValueError("get_token needs at least one scope, such as 'https://vault.azure.net/.default'.")
    scope = scopes[0]
    return scope[: -len("/.default")] if scope.endswith("/.default") else scope


class FakeCredential:
    """A sync ``TokenCredential`` (and ``SupportsTokenInfo``) issuing the fake's tokens for one identity."""

    def __init__(self, authority: TokenAuthority, identity: Identity, *, lifetime: float = 3600.0) -> None:
        self._authority = authority
        self.identity = identity
        self._lifetime = lifetime

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        token, expires = self._authority.issue(self.identity, _audience(scopes), lifetime=self._lifetime)
        return AccessToken(token, self._wall_expiry(expires))

    def get_token_info(self, *scopes: str, options: TokenRequestOptions | None = None) -> AccessTokenInfo:
        token, expires = self._authority.issue(self.identity, _audience(scopes), lifetime=self._lifetime)
        return AccessTokenInfo(token, self._wall_expiry(expires), token_type="Bearer")

    def _wall_expiry(self, expires: int) -> int:
        # The SDK caches tokens against the wall clock; the fake judges them against its own clock. Reporting the
        # remaining lifetime on the wall clock keeps both views consistent when the fake's clock has been moved.
        return int(time.time() + (expires - self._authority.clock.now()))

    def close(self) -> None:
        pass

    def __enter__(self) -> FakeCredential:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass

    def __repr__(self) -> str:
        return f"FakeCredential(identity={self.identity.name!r})"


class FakeAsyncCredential:
    """The ``azure.core.credentials_async.AsyncTokenCredential`` twin of :class:`FakeCredential`."""

    def __init__(self, authority: TokenAuthority, identity: Identity, *, lifetime: float = 3600.0) -> None:
        self._sync = FakeCredential(authority, identity, lifetime=lifetime)
        self.identity = identity

    async def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        return self._sync.get_token(*scopes)

    async def get_token_info(self, *scopes: str, options: TokenRequestOptions | None = None) -> AccessTokenInfo:
        return self._sync.get_token_info(*scopes)

    async def close(self) -> None:
        pass

    async def __aenter__(self) -> FakeAsyncCredential:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        pass

    def __repr__(self) -> str:
        return f"FakeAsyncCredential(identity={self.identity.name!r})"
