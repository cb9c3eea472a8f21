"""Throttling of key operations through the official KeyClient and CryptographyClient (sync and async): the key
budgets by type and size (a CREATE budget and an "all other transactions" budget, software or HSM-protected), 429
with Retry-After, and the SDK's retry recovering on a ManualClock without real waiting."""

# The fixtures are imported from keys_support; test parameters of the same name are pytest's injection.
# ruff: noqa: F811

from __future__ import annotations

import hashlib
import time
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.keyvault.keys.crypto import SignatureAlgorithm

from .keys_support import KeysUnderTest, kh_clock  # noqa: F401

DIGEST = hashlib.sha256(b"payload").digest()


async def _creates_then_429(kh: KeysUnderTest, client: Any, allowed: int, **options: object) -> None:
    """``allowed`` creates succeed in this window; the next one answers 429 Throttled with Retry-After."""
    for _ in range(allowed):
        await kh.call(client.create_ec_key, kh.name(), curve="P-256", **options)
    with pytest.raises(HttpResponseError) as caught:
        await kh.call(client.create_ec_key, kh.name(), curve="P-256", **options)
    error = caught.value
    assert error.status_code == 429
    assert error.error is not None
    assert error.error.code == "Throttled"
    assert error.response is not None
    assert error.response.headers["Retry-After"] == "10"  # the ManualClock did not move during the burst


async def test_software_ec_creates_are_limited_to_20_per_window_and_the_sdk_recovers(kh_clock: KeysUnderTest) -> None:
    kh = kh_clock
    vault = kh.fake.create_vault("keysthrottled", throttling=True)
    await _creates_then_429(kh, kh.key_client(vault.url), 20)
    # Reads and signatures have their own, larger budget (weighted: a read costs 1/4000, a create 1/20).
    patient = kh.key_client(vault.url, retry_total=3)
    started_at, started = kh.fake.clock.now(), time.perf_counter()
    key = await kh.call(patient.create_ec_key, kh.name(), curve="P-256")
    assert key.key_type == "EC"
    assert kh.fake.clock.now() >= started_at + 1  # the SDK slept Retry-After through the fake's transport
    assert time.perf_counter() - started < 5
    assert [record.status for record in kh.fake.audit.records(operation="KeyCreate", vault=vault.name)][-2:] == [
        429,
        200,
    ]


async def test_hsm_key_creates_have_the_smaller_hsm_budget(kh_clock: KeysUnderTest) -> None:
    kh = kh_clock
    vault = kh.fake.create_vault("keyshsmthrottled", sku="premium", throttling=True)
    await _creates_then_429(kh, kh.key_client(vault.url), 10, hardware_protected=True)


async def test_key_operation_budget_by_type_and_size_throttles_signatures(kh_clock: KeysUnderTest) -> None:
    kh = kh_clock
    vault = kh.fake.create_vault("keyssigning")
    client = kh.key_client(vault.url)
    key = await kh.call(client.create_ec_key, "signer", curve="P-256")
    kh.fake.throttle(vault.url, limits={"keys:EC:P-256": 3})
    crypto = kh.crypto_client(key)  # from a KeyVaultKey: no GET first
    for _ in range(3):
        await kh.call(crypto.sign, SignatureAlgorithm.es256, DIGEST)
    with pytest.raises(HttpResponseError) as caught:
        await kh.call(crypto.sign, SignatureAlgorithm.es256, DIGEST)
    assert caught.value.status_code == 429
    kh.fake.clock.advance(10)  # type: ignore[attr-defined]
    assert (await kh.call(crypto.sign, SignatureAlgorithm.es256, DIGEST)).key_id == key.id
    patient = kh.crypto_client(key, retry_total=2)
    for _ in range(3):
        await kh.call(patient.sign, SignatureAlgorithm.es256, DIGEST)
    assert len(kh.fake.audit.records(operation="KeySign", status=429)) == 2
