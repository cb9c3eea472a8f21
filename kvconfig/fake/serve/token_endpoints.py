"""The emulator's token endpoints, so programs in other processes can get the fake's tokens over HTTP.

Served on the emulator's own host (``https://localhost:<port>``), never on a vault host:

* ``GET  /{tenant}/v2.0/.well-known/openid-configuration`` and ``POST /{tenant}/oauth2/v2.0/token``: enough of
  Microsoft Entra ID for MSAL's client-credentials flow (and for a relying party: the v1.0 configuration at
  ``/{tenant}/.well-known/openid-configuration``, whose ``issuer`` is the ``iss`` of the access tokens Key Vault
  receives, and the signing keys at ``/{tenant}/discovery/v2.0/keys``, ``/{tenant}/discovery/keys`` and their
  tenant-less forms), so ``ClientSecretCredential(tenant, client_id, secret,
  authority="localhost:<port>", disable_instance_discovery=True)`` works. The token names ``client_id``; any secret
  or client assertion is accepted (the fake has no app registrations).
* ``GET /msi/token``: App Service's managed identity endpoint, for ``IDENTITY_ENDPOINT`` + ``IDENTITY_HEADER``
  (``ManagedIdentityCredential`` and ``DefaultAzureCredential``).
* ``GET /_kvconfig/token?identity=<name>[&resource=...]`` (for ``kvconfig fake token``) and ``GET /_kvconfig/health``.

Like the rest of the fake, this is framework-free: a :class:`FakeRequest` in, a :class:`FakeResponse` out.
"""

from __future__ import annotations

import math
import re
import time
import uuid
from collections.abc import Mapping
from urllib.parse import parse_qsl

from kvconfig.fake.control.tokens import Identity, v1_issuer, v2_issuer
from kvconfig.fake.core.wire import FakeRequest, FakeResponse, json_response
from kvconfig.fake.serve.host import ServedService

__all__ = ["MANAGED_IDENTITY_NAME", "serve_identity"]

MANAGED_IDENTITY_NAME = "managed-identity"
"""The identity a managed-identity token names when the caller does not pick a user-assigned one."""

_MIN_LIFETIME = 1.0
_MAX_LIFETIME = 366 * 24 * 3600.0

_OIDC = re.compile(r"^/(?P<tenant>[^/]+)/v2\.0/\.well-known/openid-configuration/?$")
_OIDC_V1 = re.compile(r"^/(?P<tenant>[^/]+)/\.well-known/openid-configuration/?$")
_JWKS = re.compile(r"^(?:/(?P<tenant>[^/]+))?/discovery(?:/v2\.0)?/keys/?$")
_TOKEN = re.compile(r"^/(?P<tenant>[^/]+)/oauth2/v2\.0/token/?$")
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)


def serve_identity(fake: ServedService, request: FakeRequest) -> FakeResponse | None:
    """Answer a token-endpoint request, or ``None`` when ``request`` is for none of these paths."""
    method = request.method.upper()
    _, hostname, path, port = request.parts
    base = f"https://{hostname}" if port in (None, 443) else f"https://{hostname}:{port}"
    loopback_resource = "https://localhost" if port in (None, 443) else f"https://localhost:{port}"
    if match := _OIDC.match(path):
        return _only(method, "GET") or _openid_configuration(base, match["tenant"])
    if match := _OIDC_V1.match(path):
        return _only(method, "GET") or _openid_configuration_v1(base, match["tenant"], _tenant(fake, match["tenant"]))
    if _JWKS.match(path):
        return _only(method, "GET") or json_response(200, fake.tokens.jwks())
    if match := _TOKEN.match(path):
        return _only(method, "POST") or _client_credentials(fake, request, match["tenant"])
    if path.rstrip("/") == "/msi/token":
        return _only(method, "GET") or _managed_identity(fake, request)
    if path == "/_kvconfig/token":
        return _only(method, "GET") or _kvconfig_token(fake, request, loopback_resource)
    if path == "/_kvconfig/health":
        return json_response(200, {"status": "ok", "vaults": f"https://<vault>.{loopback_resource[8:]}"})
    return None


def _only(method: str, allowed: str) -> FakeResponse | None:
    if method == allowed:
        return None
    return json_response(405, {"error": "method_not_allowed", "error_description": f"Use {allowed}."})


def _tenant(fake: ServedService, tenant: str) -> str:
    # "common", "organizations" and domain names resolve to the fake's own tenant; a GUID is taken as given.
    return tenant.lower() if _GUID.match(tenant) else fake.tenant_id


def _audience(scope: str) -> str:
    first = scope.split()[0] if scope.split() else ""
    return first[: -len("/.default")] if first.endswith("/.default") else first


def _issue(fake: ServedService, identity: Identity, audience: str, lifetime: float) -> tuple[str, int]:
    """A token and its expiry on the wall clock (what clients cache against), whatever the fake's clock says."""
    token, expires = fake.tokens.issue(identity, audience, lifetime=lifetime)
    return token, int(time.time() + (expires - fake.clock.now()))


def _entra_error(status: int, error: str, code: int, description: str) -> FakeResponse:
    return json_response(
        status,
        {
            "error": error,
            "error_description": f"AADSTS{code}: {description} (kvconfig fake)",
            "error_codes": [code],
            "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
            "trace_id": str(uuid.uuid4()),
            "correlation_id": str(uuid.uuid4()),
        },
    )


def _openid_configuration(base: str, tenant: str) -> FakeResponse:
    prefix = f"{base}/{tenant}"
    return json_response(
        200,
        {
            # MSAL checks this against the authority it was given, so it names the tenant as the path does.
            "issuer": v2_issuer(tenant, base),
            "authorization_endpoint": f"{prefix}/oauth2/v2.0/authorize",
            "token_endpoint": f"{prefix}/oauth2/v2.0/token",
            "device_authorization_endpoint": f"{prefix}/oauth2/v2.0/devicecode",
            "jwks_uri": f"{prefix}/discovery/v2.0/keys",
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "tenant_region_scope": None,
            "cloud_instance_name": "kvconfig.fake",
            "id_token_signing_alg_values_supported": ["RS256"],
        },
    )


def _openid_configuration_v1(base: str, tenant: str, tenant_id: str) -> FakeResponse:
    """The v1.0 document: its ``issuer`` is the ``iss`` of the v1.0 access tokens Key Vault receives."""
    prefix = f"{base}/{tenant}"
    return json_response(
        200,
        {
            "issuer": v1_issuer(tenant_id),
            "authorization_endpoint": f"{prefix}/oauth2/authorize",
            "token_endpoint": f"{prefix}/oauth2/token",
            "jwks_uri": f"{base}/{tenant}/discovery/keys",
            "response_types_supported": ["code", "id_token", "code id_token", "token id_token", "token"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "tenant_region_scope": None,
            "cloud_instance_name": "kvconfig.fake",
        },
    )


def _form(request: FakeRequest) -> Mapping[str, str]:
    return dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))


def _client_credentials(fake: ServedService, request: FakeRequest, tenant: str) -> FakeResponse:
    """Get a token with the client-credentials grant (client secret or client assertion)."""
    form = _form(request)
    grant = form.get("grant_type", "")
    if grant != "client_credentials":
        return _entra_error(
            400,
            "unsupported_grant_type",
            70003,
            f"The app requested an unsupported grant type '{grant}': the fake serves client_credentials only.",
        )
    client_id = form.get("client_id", "").strip()
    if not client_id:
        return _entra_error(400, "invalid_request", 900144, "The request body must contain the parameter: 'client_id'.")
    if not (form.get("client_secret") or form.get("client_assertion")):
        return _entra_error(
            401,
            "invalid_client",
            7000218,
            "The request body must contain the parameter: 'client_assertion' or 'client_secret'.",
        )
    audience = _audience(form.get("scope", ""))
    if not audience:
        return _entra_error(400, "invalid_request", 90014, "The required field 'scope' is missing.")
    identity = Identity(client_id, tenant_id=_tenant(fake, tenant), app_id=client_id)
    token, expires_on = _issue(fake, identity, audience, 3600.0)
    expires_in = max(0, expires_on - int(time.time()))
    return json_response(
        200, {"token_type": "Bearer", "expires_in": expires_in, "ext_expires_in": expires_in, "access_token": token}
    )


def _managed_identity(fake: ServedService, request: FakeRequest) -> FakeResponse:
    """Get a token as App Service's managed identity endpoint (api-version 2019-08-01) does."""
    if not request.header("X-IDENTITY-HEADER"):
        return json_response(400, {"statusCode": 400, "message": "The X-IDENTITY-HEADER header is missing."})
    query = request.query
    resource = query.get("resource", "").strip()
    if not resource:
        return json_response(400, {"statusCode": 400, "message": "The 'resource' query parameter is missing."})
    audience = _audience(resource)
    chosen = query.get("client_id") or query.get("object_id") or query.get("mi_res_id") or MANAGED_IDENTITY_NAME
    identity = Identity(chosen, tenant_id=fake.tenant_id, app_id=query.get("client_id"), kind="app")
    token, expires_on = _issue(fake, identity, audience, 3600.0)
    return json_response(
        200,
        {
            "access_token": token,
            "expires_on": str(expires_on),
            "resource": audience,
            "token_type": "Bearer",
            "client_id": identity.app_id or identity.object_id,
        },
    )


def _kvconfig_token(fake: ServedService, request: FakeRequest, default_resource: str) -> FakeResponse:
    """A token for any identity, for ``kvconfig fake token`` and scripts (``curl``)."""
    query = request.query
    try:
        lifetime = float(query.get("lifetime", "3600"))
    except ValueError:
        lifetime = math.nan
    if not _MIN_LIFETIME <= lifetime <= _MAX_LIFETIME:  # also refuses nan, inf and 1e309 (inf once parsed)
        return json_response(
            400,
            {
                "error": "invalid_request",
                "error_description": f"lifetime must be a number of seconds from {_MIN_LIFETIME:g} to "
                f"{_MAX_LIFETIME:g}.",
            },
        )
    identity = Identity(query.get("identity") or "test-user", tenant_id=fake.tenant_id)
    audience = _audience(query.get("resource") or default_resource)
    token, expires_on = _issue(fake, identity, audience, lifetime)
    return json_response(
        200,
        {
            "access_token": token,
            "token_type": "Bearer",
            "expires_on": expires_on,
            "resource": audience,
            "identity": identity.name,
            "object_id": identity.object_id,
        },
    )
