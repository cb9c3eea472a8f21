"""The emulator as an Entra-like issuer: a relying party validates the emulator's tokens with PyJWT against the
OpenID configuration and JWKS the emulator serves, as it would validate Entra's, over real TLS."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import httpx
import jwt
import pytest
from azure.identity import ClientSecretCredential
from azure.keyvault.secrets import SecretClient

from kvconfig.fake import FakeKeyVault
from kvconfig.fake.serve.emulator import EmulatorServer

from .emulator_support import resolve_localhost_subdomains

pytest.importorskip("uvicorn")


@pytest.fixture
def fake() -> FakeKeyVault:
    return FakeKeyVault()


@pytest.fixture
def server(fake: FakeKeyVault, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    resolve_localhost_subdomains(monkeypatch)
    with fake.serve(port=0) as running:
        yield running


def _app_token(fake: FakeKeyVault, server: EmulatorServer) -> str:
    """A token the way an application gets one: MSAL's client-credentials flow against the emulator's authority."""
    credential = ClientSecretCredential(
        fake.tenant_id,
        "ci-app",
        "any-secret",
        authority=server.authority,
        disable_instance_discovery=True,
        connection_verify=str(server.ca_path),
    )
    with credential:
        return credential.get_token(f"{server.resource}/.default").token


def test_relying_party_validates_an_emulator_token_against_the_served_jwks(
    fake: FakeKeyVault, server: EmulatorServer
) -> None:
    token = _app_token(fake, server)
    trust = ssl.create_default_context(cafile=str(server.ca_path))
    configuration = httpx.get(f"{server.base_url}/{fake.tenant_id}/.well-known/openid-configuration", verify=trust)
    assert configuration.status_code == 200
    metadata = configuration.json()
    assert metadata["issuer"] == f"https://sts.windows.net/{fake.tenant_id}/"
    assert "RS256" in metadata["id_token_signing_alg_values_supported"]

    keys = jwt.PyJWKClient(metadata["jwks_uri"], ssl_context=trust, cache_keys=False)
    signing_key = keys.get_signing_key_from_jwt(token)
    claims = jwt.decode(
        token,
        signing_key.key,
        algorithms=["RS256"],
        audience=server.resource,
        issuer=metadata["issuer"],
        options={"require": ["exp", "nbf", "iat", "iss", "aud"]},
    )
    assert claims["appid"] == "ci-app"
    assert claims["idtyp"] == "app"
    assert claims["tid"] == fake.tenant_id
    # The JWKS holds the public key only.
    served = httpx.get(metadata["jwks_uri"], verify=trust).json()["keys"]
    assert [key["kid"] for key in served] == [fake.tokens.kid]
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(served[0])

    # The v2.0 configuration (the one MSAL reads) points at the same keys.
    v2 = httpx.get(f"{server.base_url}/{fake.tenant_id}/v2.0/.well-known/openid-configuration", verify=trust).json()
    assert v2["jwks_uri"] == f"{server.base_url}/{fake.tenant_id}/discovery/v2.0/keys"
    assert httpx.get(v2["jwks_uri"], verify=trust).json()["keys"] == served

    # A token of another issuer finds no key in this JWKS, and the vault refuses it too.
    stranger = FakeKeyVault().credential("ci-app").get_token(f"{server.resource}/.default").token
    with pytest.raises(jwt.PyJWKClientError):
        keys.get_signing_key_from_jwt(stranger)
    answer = httpx.get(
        f"{server.url_for('myvault')}/secrets/s?api-version=7.6",
        headers={"Authorization": f"Bearer {stranger}"},
        verify=trust,
    )
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "Unauthorized"


def test_emulator_token_reaches_a_vault_through_the_official_client(fake: FakeKeyVault, server: EmulatorServer) -> None:
    credential = ClientSecretCredential(
        fake.tenant_id,
        "ci-app",
        "any-secret",
        authority=server.authority,
        disable_instance_discovery=True,
        connection_verify=str(server.ca_path),
    )
    with (
        credential,
        SecretClient(server.url_for("myvault"), credential, connection_verify=str(server.ca_path)) as client,
    ):
        client.set_secret("s", "v")
        assert client.get_secret("s").value == "v"
