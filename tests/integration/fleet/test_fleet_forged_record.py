"""Data key records that the key-encryption key's holder did not make, against a real redis-server.

RSA-OAEP wrapping needs only the public key (readable by anyone with keys/get, and not secret by nature): someone who
can write to Redis could choose a data key, wrap it, replace ``kvconfig:datakey`` and plant entries sealed under it.
The record is therefore signed by the wrapping key and verified before a replica adopts it: a record that is unsigned,
signed by another key (even one in the same vault), or altered is refused (counted in ``rejected``), never opened;
the replica reads the vault and replaces the record with a signed one of its own (compare and set).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest

pytest.importorskip("redis")

from azure.keyvault.keys import KeyClient, KeyVaultKey
from azure.keyvault.keys.crypto import CryptographyClient as SyncCryptographyClient
from azure.keyvault.keys.crypto import SignatureAlgorithm
from azure.keyvault.keys.crypto.aio import CryptographyClient
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from kvconfig.crypto import AsyncAzureKeyWrapper, AzureKeyWrapper, LocalCryptoClient, LocalKeyWrapper, generate_key
from kvconfig.fake import FakeAsyncTransport, FakeKeyVault
from kvconfig.fleet import RedisSharedCache
from kvconfig.fleet.sealing import (
    DataKey,
    RecordRefusedError,
    _digest,
    _material,
    new_data_key,
    open_data_key,
    secret_bytes,
)
from kvconfig.references import parse_reference
from kvconfig.resolve import CachedSecret

from .conftest import VAULT, VAULT_URL, ref

HOST = "contoso.vault.azure.net"
RECORD_KEY = "kvconfig:datakey"
T = TypeVar("T")


@pytest.fixture
def fake() -> FakeKeyVault:
    fake = FakeKeyVault()
    fake.set_secret(VAULT, "db", "from-the-vault")
    return fake


@pytest.fixture
def keys(fake: FakeKeyVault) -> Iterator[KeyClient]:
    client = KeyClient(VAULT_URL, fake.credential(), transport=fake.transport())
    yield client
    client.close()


@pytest.fixture
def kek(keys: KeyClient) -> KeyVaultKey:
    return keys.create_rsa_key("fleet-kek", size=2048)


def public_wrap(kek: KeyVaultKey, raw: bytes) -> str:
    """What anyone holding only the KEK's public key can make: an RSA-OAEP-256 wrap of a data key of their choice."""
    assert kek.key.n is not None
    assert kek.key.e is not None
    public = rsa.RSAPublicNumbers(int.from_bytes(kek.key.e, "big"), int.from_bytes(kek.key.n, "big")).public_key()
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    return base64.b64encode(public.encrypt(raw, oaep)).decode()


def forged_record(kek: KeyVaultKey) -> tuple[dict[str, str], DataKey]:
    raw, key_id = os.urandom(32), os.urandom(8)
    record = {"id": key_id.hex(), "kid": str(kek.id), "alg": "RSA-OAEP-256", "wrapped": public_wrap(kek, raw)}
    return record, DataKey(key_id, str(kek.id), _material(raw))


def with_replica(fake: FakeKeyVault, redis_url: str, body: Callable[[RedisSharedCache], Awaitable[T]]) -> T:
    """Run ``body`` with a replica whose wrapper is the KEK (versionless; any version through ``client_factory``)."""

    async def run() -> T:
        credential = fake.async_credential()

        def client(kid: str) -> CryptographyClient:
            return CryptographyClient(kid, credential, transport=fake.async_transport())

        replica = RedisSharedCache(
            redis_url, AsyncAzureKeyWrapper(client(f"{VAULT_URL}/keys/fleet-kek"), client_factory=client)
        )
        try:
            return await body(replica)
        finally:
            await replica.aclose()
            await credential.close()

    return asyncio.run(run())


async def plant_and_read(replica: RedisSharedCache, record: dict[str, str], data_key: DataKey) -> dict[str, Any]:
    """Store ``record`` with entries sealed under ``data_key`` (a planted value), then resolve the secret once."""
    reference = parse_reference(ref("db"))
    planted = CachedSecret(vault_url=VAULT_URL, name="db", version="x", value="planted-value")
    await replica.client.mset(
        {
            replica.record_key: json.dumps(record).encode(),
            replica.key("latest", reference): data_key.seal("kvconfig", "latest", (HOST, "db"), b"x"),
            replica.key("v", reference, version="x"): data_key.seal(
                "kvconfig", "value", (HOST, "db", "x"), secret_bytes(planted)
            ),
        }
    )

    async def fetch() -> CachedSecret:
        return CachedSecret(vault_url=VAULT_URL, name="db", version="v1", value="from-the-vault")

    served = (await replica.get_or_fetch(reference, fetch)).value
    stored = await replica.client.get(replica.record_key)
    assert isinstance(stored, bytes)
    try:
        reopened: DataKey | None = await open_data_key(stored, replica.key_wrapper, record_key=replica.record_key)
    except RecordRefusedError:
        reopened = None
    return {"served": served, "record": json.loads(stored), "reopened": reopened, "health": replica.health()}


def assert_refused_and_replaced(outcome: dict[str, Any], refused: dict[str, str], kek: KeyVaultKey) -> None:
    assert outcome["served"] == "from-the-vault"  # never the planted value
    assert outcome["health"]["rejected"] == 1
    assert outcome["health"]["state"] == "ok"  # the tier still works: under the replica's own record
    replaced = outcome["record"]
    assert replaced["id"] != refused["id"]
    assert replaced["kid"].startswith(f"{kek.id}")
    assert replaced["sig_kid"] == replaced["kid"]
    assert replaced["sig_alg"] == "RS256"
    assert outcome["reopened"].key_id.hex() == replaced["id"]  # the replacement verifies


def test_a_record_forged_with_the_keks_public_key_is_never_adopted(
    fake: FakeKeyVault, kek: KeyVaultKey, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    record, data_key = forged_record(kek)

    outcome = with_replica(fake, redis_url, lambda replica: plant_and_read(replica, record, data_key))

    assert_refused_and_replaced(outcome, record, kek)
    refusals = [r.getMessage() for r in caplog.records if "data key record in Redis was refused" in r.getMessage()]
    assert len(refusals) == 1
    assert record["wrapped"] not in refusals[0]
    assert "planted" not in caplog.text


def test_a_record_signed_by_another_key_of_the_same_vault_is_refused(
    fake: FakeKeyVault, keys: KeyClient, kek: KeyVaultKey, redis_url: str
) -> None:
    """The signature is genuine (made by the vault), over the right bytes, but by a key the writer controls."""
    other = keys.create_rsa_key("writers-own-key", size=2048)
    signer = SyncCryptographyClient(other, fake.credential(), transport=fake.transport())
    record, data_key = forged_record(kek)
    signature = signer.sign(SignatureAlgorithm.rs256, _digest(RECORD_KEY, record)).signature
    record.update(sig_kid=str(other.id), sig_alg="RS256", sig=base64.b64encode(signature).decode())

    outcome = with_replica(fake, redis_url, lambda replica: plant_and_read(replica, record, data_key))

    assert_refused_and_replaced(outcome, record, kek)


def test_a_whole_record_made_by_another_key_is_refused(
    fake: FakeKeyVault, keys: KeyClient, kek: KeyVaultKey, redis_url: str
) -> None:
    """Wrapped and signed by another key on a trusted host: valid for that key, proof of nothing for this fleet."""
    other = keys.create_rsa_key("writers-own-key", size=2048)
    writer = AzureKeyWrapper(SyncCryptographyClient(other, fake.credential(), transport=fake.transport()))
    data_key, made = asyncio.run(new_data_key(writer, record_key=RECORD_KEY))
    record = json.loads(made)
    assert record["sig_kid"] == other.id

    outcome = with_replica(fake, redis_url, lambda replica: plant_and_read(replica, record, data_key))

    assert_refused_and_replaced(outcome, record, kek)


def test_an_unsigned_record_wrapped_by_the_kek_itself_is_refused_and_replaced(
    fake: FakeKeyVault, kek: KeyVaultKey, redis_url: str
) -> None:
    """A record from before records were signed (or one stripped of its signature): genuinely wrapped through the
    vault, yet nothing shows who made it; replicas replace it (its entries are read from the vault once more)."""
    wrapper = AzureKeyWrapper(SyncCryptographyClient(kek, fake.credential(), transport=fake.transport()))
    data_key, made = asyncio.run(new_data_key(wrapper, record_key=RECORD_KEY))
    record = {name: value for name, value in json.loads(made).items() if not name.startswith("sig")}

    outcome = with_replica(fake, redis_url, lambda replica: plant_and_read(replica, record, data_key))

    assert_refused_and_replaced(outcome, record, kek)


@pytest.mark.parametrize("field", ["id", "kid", "wrapped"])
def test_a_signed_record_altered_after_signing_is_refused(
    fake: FakeKeyVault, kek: KeyVaultKey, redis_url: str, field: str
) -> None:
    wrapper = AzureKeyWrapper(SyncCryptographyClient(kek, fake.credential(), transport=fake.transport()))
    data_key, made = asyncio.run(new_data_key(wrapper, record_key=RECORD_KEY))
    record = json.loads(made)
    if field == "id":
        record["id"] = os.urandom(8).hex()
        data_key = DataKey(bytes.fromhex(record["id"]), data_key.wrapped_by, data_key._material)
    elif field == "kid":
        record["kid"] = record["kid"].rsplit("/", 1)[0] + "/" + "0" * 32  # another version, same key
    else:
        record["wrapped"] = public_wrap(kek, os.urandom(32))

    async def refused(replica: RedisSharedCache) -> None:
        with pytest.raises(RecordRefusedError):
            await open_data_key(json.dumps(record).encode(), replica.key_wrapper, record_key=replica.record_key)

    with_replica(fake, redis_url, refused)


def test_a_record_copied_to_another_namespace_is_refused(fake: FakeKeyVault, kek: KeyVaultKey, redis_url: str) -> None:
    wrapper = AzureKeyWrapper(SyncCryptographyClient(kek, fake.credential(), transport=fake.transport()))
    _data_key, made = asyncio.run(new_data_key(wrapper, record_key="other-app:datakey"))

    async def refused(replica: RedisSharedCache) -> None:
        with pytest.raises(RecordRefusedError):
            await open_data_key(made, replica.key_wrapper, record_key=replica.record_key)

    with_replica(fake, redis_url, refused)


def test_rotation_writes_records_that_verify(
    fake: FakeKeyVault, keys: KeyClient, kek: KeyVaultKey, redis_url: str
) -> None:
    async def make(replica: RedisSharedCache) -> DataKey:
        return await replica.data_key()

    async def rotate(replica: RedisSharedCache) -> list[dict[str, Any]]:
        seen = []
        for change in (replica.rewrap, replica.rotate_data_key):
            await change()
            stored = await replica.client.get(replica.record_key)
            assert isinstance(stored, bytes)
            opened = await open_data_key(stored, replica.key_wrapper, record_key=replica.record_key)
            seen.append({**json.loads(stored), "opened": opened.key_id.hex()})
        return seen

    with_replica(fake, redis_url, make)
    keys.create_rsa_key("fleet-kek", size=2048)  # a new version of the KEK, which the next process wraps with
    rewrapped, replaced = with_replica(fake, redis_url, rotate)

    assert rewrapped["kid"] != kek.id
    assert rewrapped["kid"].startswith(f"{VAULT_URL}/keys/fleet-kek/")
    for record in (rewrapped, replaced):
        assert record["sig_kid"] == record["kid"]
        assert record["sig_alg"] == "RS256"
        assert record["opened"] == record["id"]
    assert replaced["id"] != rewrapped["id"]


def test_a_replica_that_may_not_sign_reads_the_vault_and_leaves_the_refused_record(redis_url: str) -> None:
    """It cannot replace the record (no ``sign`` on the KEK): the tier is unavailable to it, never the planted value."""
    material = generate_key("RSA", size=2048)
    kid = f"{VAULT_URL}/keys/fleet-kek/{'1' * 32}"
    verifier = LocalKeyWrapper(LocalCryptoClient(material, key_id=kid, key_ops=["wrapKey", "unwrapKey", "verify"]))
    raw, key_id = os.urandom(32), os.urandom(8)
    record = {"id": key_id.hex(), "kid": kid, "alg": "RSA-OAEP-256"}
    record["wrapped"] = base64.b64encode(verifier.wrap_key(raw)).decode()  # only the public key is needed for this

    async def run() -> dict[str, Any]:
        replica = RedisSharedCache(redis_url, verifier)
        try:
            return await plant_and_read(replica, record, DataKey(key_id, kid, _material(raw)))
        finally:
            await replica.aclose()

    outcome = asyncio.run(run())

    assert outcome["served"] == "from-the-vault"
    assert outcome["record"] == record  # left as it was, still refused
    assert outcome["reopened"] is None
    assert outcome["health"]["state"] == "unavailable"
    assert outcome["health"]["rejected"] == 1
    assert outcome["health"]["fallbacks"] == 1


class SignCounter(FakeAsyncTransport):
    """Counts the vault's answered sign and verify calls (an observer of the wire)."""

    def __init__(self, fake: FakeKeyVault, counts: Counter[str]) -> None:
        super().__init__(fake)
        self._counts = counts

    async def send(self, request: Any, **kwargs: Any) -> Any:
        response = await super().send(request, **kwargs)
        operation = str(request.url).split("?")[0].rsplit("/", 1)[-1]
        if response.status_code == 200 and operation in ("sign", "verify", "unwrapkey"):
            self._counts[operation] += 1
        return response


def test_replicas_starting_together_have_the_record_signed_once(
    fake: FakeKeyVault, kek: KeyVaultKey, redis_url: str
) -> None:
    counts: Counter[str] = Counter()

    async def run() -> list[str]:
        credential = fake.async_credential()
        replicas = [
            RedisSharedCache(
                redis_url,
                AsyncAzureKeyWrapper(CryptographyClient(kek, credential, transport=SignCounter(fake, counts))),
            )
            for _ in range(6)
        ]
        try:
            keys = await asyncio.gather(*(replica.data_key() for replica in replicas))
            return [key.key_id.hex() for key in keys]
        finally:
            for replica in replicas:
                await replica.aclose()
            await credential.close()

    ids = asyncio.run(run())

    assert len(set(ids)) == 1  # every replica adopted the same record
    assert counts["sign"] == 1
    assert counts["unwrapkey"] == 5
    assert counts["verify"] == 0  # the SDK holds the public key: verified locally
