"""A data key record forged by someone who can write to Redis and knows only the key-encryption key's public key.

RSA-OAEP wrapping needs only the public key (readable by anyone with keys/get, and not secret by nature), and the
record carries nothing only the KEK's holder could produce: such a writer chooses a data key, wraps it, replaces
``kvconfig:datakey`` and plants entries sealed under it; replicas unwrap it through Key Vault (the wrap is genuine)
and serve the planted values. Expected to fail until the record is authenticated (for example signed with the KEK,
verified before a replica adopts it); see the review of the fleet's rotation.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os

import pytest

pytest.importorskip("redis")

from azure.keyvault.keys import KeyClient
from azure.keyvault.keys.crypto.aio import CryptographyClient
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from kvconfig.crypto import AsyncAzureKeyWrapper
from kvconfig.fake import FakeKeyVault
from kvconfig.fleet import RedisSharedCache
from kvconfig.fleet.sealing import DataKey, _material, secret_bytes
from kvconfig.references import parse_reference
from kvconfig.resolve import CachedSecret

from .conftest import VAULT, VAULT_URL, ref

HOST = "contoso.vault.azure.net"


@pytest.mark.xfail(strict=True, reason="the data key record is not authenticated: a public-key wrap can be forged")
def test_a_record_forged_with_the_keks_public_key_is_never_adopted(redis_url: str) -> None:
    fake = FakeKeyVault()
    fake.set_secret(VAULT, "db", "from-the-vault")
    keys = KeyClient(VAULT_URL, fake.credential(), transport=fake.transport())
    kek = keys.create_rsa_key("fleet-kek", size=2048)
    keys.close()
    assert kek.key.n is not None
    assert kek.key.e is not None
    assert kek.id is not None
    public = rsa.RSAPublicNumbers(int.from_bytes(kek.key.e, "big"), int.from_bytes(kek.key.n, "big")).public_key()
    reference = parse_reference(ref("db"))

    async def fetch() -> CachedSecret:
        return CachedSecret(vault_url=VAULT_URL, name="db", version="v1", value="from-the-vault")

    async def run() -> str:
        credential = fake.async_credential()

        def client(kid: str) -> CryptographyClient:
            return CryptographyClient(kid, credential, transport=fake.async_transport())

        replica = RedisSharedCache(
            redis_url, AsyncAzureKeyWrapper(client(f"{VAULT_URL}/keys/fleet-kek"), client_factory=client)
        )
        try:
            raw, key_id = os.urandom(32), os.urandom(8)
            oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
            wrapped = base64.b64encode(public.encrypt(raw, oaep)).decode()
            record = {"id": key_id.hex(), "kid": kek.id, "alg": "RSA-OAEP-256", "wrapped": wrapped}
            forged = DataKey(key_id, str(kek.id), _material(raw))
            planted = CachedSecret(vault_url=VAULT_URL, name="db", version="x", value="planted-value")
            await replica.client.mset(
                {
                    replica.record_key: json.dumps(record).encode(),
                    replica.key("latest", reference): forged.seal("kvconfig", "latest", (HOST, "db"), b"x"),
                    replica.key("v", reference, version="x"): forged.seal(
                        "kvconfig", "value", (HOST, "db", "x"), secret_bytes(planted)
                    ),
                }
            )
            return (await replica.get_or_fetch(reference, fetch)).value
        finally:
            await replica.aclose()
            await credential.close()

    assert asyncio.run(run()) == "from-the-vault"
