"""Access tokens the fake's own issuer signs (RS256) and verifies, and the token credentials that issue them.

The fake is its own Entra-like issuer: it signs v1.0 access tokens (``iss`` ``https://sts.windows.net/{tid}/``, as
Key Vault's tokens are) with an RSA key and marks them with that key's ``kid``. The emulator serves the OpenID
configuration and the JWKS (:mod:`kvconfig.fake.serve.token_endpoints`), so a third party can validate the fake's
tokens as it would Entra's. A vault verifies signature, ``iss``, ``aud``, ``exp`` and ``nbf``: a tampered, expired,
not-yet-valid or wrong-audience token gets 401, and so does a token of another issuer (a JWT signed by another key,
or naming another ``iss``). An opaque bearer string that is not a JWT at all (a test double's) is taken as an
anonymous caller, so existing test set-ups keep working while a vault enforces no access control.

Generating a 2048-bit RSA key costs about 120 ms and a test suite makes hundreds of fakes, so fakes in one process
share one key pair unless given their own (the emulator keeps its own across restarts); each fake has its own key
id, and verifies only tokens that carry it.
"""

from __future__ import annotations

import dataclasses
import secrets as _secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import jwt
from azure.core.credentials import AccessToken, AccessTokenInfo, TokenRequestOptions
from azure.core.exceptions import ClientAuthenticationError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from kvconfig.fake.core.clock import Clock
from kvconfig.fake.core.errors import ServiceError
from kvconfig.fake.core.identity import Identity

__all__ = ["FakeAsyncCredential", "FakeCredential", "Identity", "TokenAuthority", "v1_issuer", "v2_issuer"]


ANONYMOUS = Identity("anonymous", object_id="00000000-0000-0000-0000-000000000000")
_CACHE_SIZE = 4096
# Entra ID's token validation tolerates five minutes of clock skew on nbf.
_CLOCK_SKEW = 300
_KEY_SIZE = 2048
_ENTRA_AUTHORITY = "https://login.microsoftonline.com"

_shared_key: rsa.RSAPrivateKey | None = None
_shared_lock = threading.Lock()


def _process_key() -> rsa.RSAPrivateKey:
    global _shared_key
    with _shared_lock:
        if _shared_key is None:
            _shared_key = rsa.generate_private_key(public_exponent=65537, key_size=_KEY_SIZE)
        return _shared_key


def v1_issuer(tenant_id: str) -> str:
    """The ``iss`` of a v1.0 access token (the kind Key Vault receives) for ``tenant_id``."""
    return f"https://sts.windows.net/{tenant_id}/"


def v2_issuer(tenant_id: str, authority: str = _ENTRA_AUTHORITY) -> str:
    """The ``iss`` of a v2.0 token (and the ``issuer`` of the v2.0 OpenID configuration) for ``tenant_id``."""
    return f"{authority.rstrip('/')}/{tenant_id}/v2.0"


class _Refused(Exception):
    """A token that names this issuer's key (or another issuer) and fails verification: always a 401."""

    def __init__(self, error: ServiceError) -> None:
        self.error = error


@dataclass
class TokenAuthority:
    """The fake's token issuer: signs tokens with RS256 and verifies them against one clock."""

    clock: Clock
    signing_key: rsa.RSAPrivateKey | None = field(default=None, repr=False)
    kid: str = field(default_factory=lambda: _secrets.token_urlsafe(20))
    _verified: dict[str, tuple[rsa.RSAPrivateKey, dict[str, Any] | _Refused | None, Identity | None]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def private_key(self) -> rsa.RSAPrivateKey:
        """The signing key (made on first use; the process's shared key unless one was given)."""
        if self.signing_key is None:
            self.signing_key = _process_key()
        return self.signing_key

    # -- publishing (the emulator's JWKS, persistence) ---------------------------------------------------------------

    def jwks(self) -> dict[str, Any]:
        """The JSON Web Key Set a relying party validates this issuer's tokens with (public key only)."""
        public: dict[str, Any] = jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {"keys": [{**public, "use": "sig", "kid": self.kid, "x5t": self.kid, "alg": "RS256"}]}

    def export_key(self) -> bytes:
        """The signing key as unencrypted PKCS#8 PEM, for the emulator's data folder (written 0600)."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def use_own_key(self) -> None:
        """Sign with a new key of this issuer's own (rather than the process's shared one) from now on."""
        self.signing_key = rsa.generate_private_key(public_exponent=65537, key_size=_KEY_SIZE)

    def restore_key(self, pem: bytes, kid: str | None) -> None:
        """Adopt a key saved by :meth:`export_key`; anything else (an older folder's HS256 secret) is ignored, and
        the tokens it signed stop verifying: clients simply ask for new ones."""
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError):
            return
        if isinstance(key, rsa.RSAPrivateKey):
            self.signing_key = key
            if kid:
                self.kid = kid

    # -- issuing and verifying ----------------------------------------------------------------------------------

    def issue(self, identity: Identity, audience: str, *, lifetime: float = 3600.0) -> tuple[str, int]:
        now = int(self.clock.now())
        expires = int(now + lifetime)
        claims: dict[str, Any] = {
            "aud": audience,
            "iss": v1_issuer(identity.tenant_id),
            "iat": now,
            "nbf": now - 300,
            "exp": expires,
            "ver": "1.0",
            "oid": identity.object_id,
            "sub": identity.object_id,
            "tid": identity.tenant_id,
            "idtyp": identity.kind,
            "name": identity.name,
            "ipaddr": identity.client_ip,
        }
        if identity.app_id:
            claims["appid"] = identity.app_id
        if identity.groups:
            claims["groups"] = list(identity.group_ids)
        token = jwt.encode(claims, self.private_key, algorithm="RS256", headers={"kid": self.kid, "x5t": self.kid})
        return token, expires

    def verify(self, token: str, resource: str, tenant: str | None = None) -> Identity | None:
        """Return the token's identity, ``None`` for an opaque (anonymous) token, or raise a 401 ServiceError.

        ``tenant`` is the vault's: a token issued in another tenant is refused with the service's AKV10032.
        """
        # Decoding and checking the signature is most of the cost of a request, and a client sends the same token
        # for an hour: remember what each token string decoded to. Audience and time are checked every time.
        key = self.private_key
        cached = self._verified.get(token)
        if cached is None or cached[0] is not key:
            cached = (key, *self._decode(token, key))
            if len(self._verified) >= _CACHE_SIZE:
                self._verified.clear()
            self._verified[token] = cached
        _key, claims, identity = cached
        if isinstance(claims, _Refused):
            raise claims.error
        if claims is None:
            return None
        if tenant is not None and str(claims.get("tid", "")).lower() != tenant.lower():
            raise ServiceError.invalid_issuer((v1_issuer(tenant),), str(claims.get("iss", "")))
        audience = str(claims.get("aud", "")).rstrip("/")
        if audience != resource.rstrip("/"):
            raise ServiceError.wrong_audience(resource, audience)
        now = self.clock.now()
        if float(claims.get("exp", 0)) <= now:
            raise ServiceError.expired_token()
        if float(claims.get("nbf", 0)) > now + _CLOCK_SKEW:
            raise ServiceError.token_not_yet_valid()
        return identity

    def _decode(self, token: str, key: rsa.RSAPrivateKey) -> tuple[dict[str, Any] | _Refused | None, Identity | None]:
        """(claims, identity) of one of this issuer's tokens; (None, None) for an opaque token that is no JWT;
        (_Refused, None) for a JWT this issuer did not sign or that names another issuer."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return None, None
        if header.get("kid") != self.kid or header.get("alg") != "RS256":
            return _Refused(
                ServiceError.invalid_token("the token was not signed by a key of this tenant's issuer.")
            ), None
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.public_key(),
                algorithms=["RS256"],
                options={"verify_exp": False, "verify_nbf": False, "verify_aud": False, "verify_iat": False},
            )
        except jwt.PyJWTError:
            return _Refused(ServiceError.invalid_token("the token's signature is not valid.")), None
        tenant = str(claims.get("tid", ""))
        issuer = str(claims.get("iss", ""))
        expected = (v1_issuer(tenant), v2_issuer(tenant))
        if not tenant or issuer not in expected:
            return _Refused(ServiceError.invalid_issuer(expected, issuer)), None
        identity = Identity(
            name=str(claims.get("name", "")),
            tenant_id=tenant,
            object_id=str(claims.get("oid", "")),
            app_id=claims.get("appid") or claims.get("azp"),
            client_ip=str(claims.get("ipaddr", "127.0.0.1")),
            groups=tuple(str(group) for group in claims.get("groups", ()) if isinstance(group, str)),
            kind="app" if claims.get("idtyp") == "app" else "user",
        )
        return claims, identity


def _audience(scopes: tuple[str, ...]) -> str:
    if not scopes:
        raise ValueError("get_token needs at least one scope, such as 'https://vault.azure.net/.default'.")
    scope = scopes[0]
    return scope[: -len("/.default")] if scope.endswith("/.default") else scope


def _check_tenants(tenants: Sequence[str]) -> tuple[str, ...]:
    if isinstance(tenants, str) or not all(isinstance(tenant, str) and tenant for tenant in tenants):
        raise TypeError("additionally_allowed_tenants is a list of tenant ids (or '*'), not one string.")
    return tuple(tenant.lower() for tenant in tenants)


class FakeCredential:
    """A sync ``TokenCredential`` (and ``SupportsTokenInfo``) issuing the fake's tokens for one identity.

    Tokens name the identity's tenant unless the caller asks for another (``tenant_id=``, as the Key Vault clients
    do with the tenant of the vault's challenge): like an azure-identity credential, it then issues a token of that
    tenant if ``additionally_allowed_tenants`` lists it (``"*"``, the default, allows any), and otherwise raises
    ``ClientAuthenticationError`` without a request, with azure-identity's wording.
    """

    def __init__(
        self,
        authority: TokenAuthority,
        identity: Identity,
        *,
        lifetime: float = 3600.0,
        additionally_allowed_tenants: Sequence[str] = ("*",),
    ) -> None:
        self._authority = authority
        self.identity = identity
        self._lifetime = lifetime
        self._allowed = _check_tenants(additionally_allowed_tenants)

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        token, expires = self._issue(scopes, tenant_id)
        return AccessToken(token, self._wall_expiry(expires))

    def get_token_info(self, *scopes: str, options: TokenRequestOptions | None = None) -> AccessTokenInfo:
        token, expires = self._issue(scopes, (options or {}).get("tenant_id"))
        return AccessTokenInfo(token, self._wall_expiry(expires), token_type="Bearer")

    def _issue(self, scopes: tuple[str, ...], tenant_id: str | None) -> tuple[str, int]:
        identity = self.identity
        if tenant_id and tenant_id.lower() != identity.tenant_id.lower():
            if "*" not in self._allowed and tenant_id.lower() not in self._allowed:
                raise ClientAuthenticationError(
                    message=f"The current credential is not configured to acquire tokens for tenant {tenant_id}. "
                    "To enable acquiring tokens for this tenant add it to the additionally_allowed_tenants when "
                    'creating the credential, or add "*" to additionally_allowed_tenants to allow acquiring '
                    "tokens for any tenant."
                )
            identity = dataclasses.replace(identity, tenant_id=tenant_id)
        return self._authority.issue(identity, _audience(scopes), lifetime=self._lifetime)

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

    def __init__(
        self,
        authority: TokenAuthority,
        identity: Identity,
        *,
        lifetime: float = 3600.0,
        additionally_allowed_tenants: Sequence[str] = ("*",),
    ) -> None:
        self._sync = FakeCredential(
            authority, identity, lifetime=lifetime, additionally_allowed_tenants=additionally_allowed_tenants
        )
        self.identity = identity

    async def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        return self._sync.get_token(*scopes, tenant_id=tenant_id)

    async def get_token_info(self, *scopes: str, options: TokenRequestOptions | None = None) -> AccessTokenInfo:
        return self._sync.get_token_info(*scopes, options=options)

    async def close(self) -> None:
        pass

    async def __aenter__(self) -> FakeAsyncCredential:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        pass

    def __repr__(self) -> str:
        return f"FakeAsyncCredential(identity={self.identity.name!r})"
