"""kvconfig.fleet's pure parts: the token bucket's arithmetic, sealing's bindings, re-wrapping a data key record,
invalidation message bounds."""

from __future__ import annotations

import asyncio
import base64
import json
import os

import pytest

from kvconfig.crypto import DecryptionError, EnvelopeKeyError, KeyRing, LocalKeyWrapper, generate_key
from kvconfig.fleet import StartupPolicy, VaultBudget
from kvconfig.fleet.invalidation import parse_invalidation
from kvconfig.fleet.rotation import glob_escape
from kvconfig.fleet.sealing import (
    RecordRefusedError,
    SealedFormatError,
    new_data_key,
    open_data_key,
    record_summary,
    rewrap_record,
)

RECORD = "ns:datakey"


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_budget_grants_a_burst_then_one_token_per_interval() -> None:
    clock = Clock()
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    budget = VaultBudget(2.0, burst=2, clock=clock, sleep=sleep)
    for _ in range(4):
        asyncio.run(budget.acquire("https://a.vault.azure.net/secrets/x"))
    assert waits == [0.5, 1.0]  # two from the burst, then queued half a second apart
    assert budget.try_acquire("a.vault.azure.net") is False
    clock.t = 10.0
    assert budget.try_acquire("A.VAULT.AZURE.NET") is True  # one bucket per host, case-insensitive
    assert budget.try_acquire("https://b.vault.azure.net") is True  # another vault, another bucket


def test_budget_share_leaves_room_for_the_burst() -> None:
    budget = VaultBudget.share_of(1000, burst=1)
    assert budget.rate == pytest.approx(0.4, rel=1e-2)
    assert VaultBudget.share_of(1000, burst=2).rate == pytest.approx(0.3, rel=1e-2)
    with pytest.raises(ValueError, match="burst"):
        VaultBudget.share_of(1000, burst=5)


def test_startup_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="deadline"):
        StartupPolicy(deadline=0)


def test_sealed_values_open_only_under_their_own_binding() -> None:
    wrapper = LocalKeyWrapper(generate_key("RSA", size=2048), "https://v.vault.azure.net/keys/k/1")
    data_key, record = asyncio.run(new_data_key(wrapper, record_key=RECORD))
    assert b"wrapped" in record
    blob = data_key.seal("ns", "value", ("v.vault.azure.net", "db", "1"), b"hunter2")
    assert b"hunter2" not in blob
    reopened = asyncio.run(open_data_key(record, wrapper, record_key=RECORD))
    assert reopened.open("ns", "value", ("v.vault.azure.net", "db", "1"), blob) == b"hunter2"
    for parts in (("v.vault.azure.net", "db", "2"), ("v.vault.azure.net", "other", "1")):
        with pytest.raises(SealedFormatError):
            reopened.open("ns", "value", parts, blob)
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(SealedFormatError):
        reopened.open("ns", "value", ("v.vault.azure.net", "db", "1"), tampered)
    with pytest.raises(SealedFormatError):
        asyncio.run(open_data_key(b"{" * 20_000, wrapper, record_key=RECORD))


def test_a_rewrapped_record_keeps_its_data_key_under_the_new_wrapping_key() -> None:
    old = LocalKeyWrapper(generate_key("RSA", size=2048), "https://v.vault.azure.net/keys/k/1")
    new = LocalKeyWrapper(generate_key("RSA", size=2048), "https://v.vault.azure.net/keys/k/2")
    data_key, record = asyncio.run(new_data_key(old, record_key=RECORD))
    blob = data_key.seal("ns", "value", ("v.vault.azure.net", "db", "1"), b"hunter2")

    rewrapped = asyncio.run(rewrap_record(record, old, new, record_key=RECORD))

    assert record_summary(rewrapped) == {"id": data_key.key_id.hex(), "kid": new.key_id, "alg": "RSA-OAEP-256"}
    reopened = asyncio.run(open_data_key(rewrapped, new, record_key=RECORD))
    assert reopened.open("ns", "value", ("v.vault.azure.net", "db", "1"), blob) == b"hunter2"
    with pytest.raises(EnvelopeKeyError, match="this wrapper holds"):
        asyncio.run(open_data_key(rewrapped, old, record_key=RECORD))  # the old key no longer opens it
    assert b"hunter2" not in rewrapped


def test_glob_escape_matches_a_namespace_literally() -> None:
    assert glob_escape("app[1]*?\\x") == "app\\[1\\]\\*\\?\\\\x"


def test_invalidation_messages_are_bounded_and_checked() -> None:
    good = {"vault": "https://v.vault.azure.net", "name": "db", "from": "r1", "id": "m1"}
    assert parse_invalidation(json.dumps(good).encode()) == ("https://v.vault.azure.net", "db", "r1", "m1")
    assert parse_invalidation(json.dumps({**good, "vault": "http://evil"}).encode()) is None
    assert parse_invalidation(json.dumps({**good, "name": 3}).encode()) is None
    assert parse_invalidation(b"x" * 5000) is None
    assert parse_invalidation(b"not json") is None


def _record(made: bytes, **changes: object) -> bytes:
    return json.dumps({**json.loads(made), **changes}).encode()


def test_a_record_is_signed_by_its_wrapping_key_and_refused_when_unsigned_altered_or_moved() -> None:
    wrapper = LocalKeyWrapper(generate_key("RSA", size=2048), "https://v.vault.azure.net/keys/k/1")
    data_key, made = asyncio.run(new_data_key(wrapper, record_key=RECORD))
    fields = json.loads(made)
    assert fields["sig_kid"] == wrapper.key_id
    assert fields["sig_alg"] == "RS256"
    assert asyncio.run(open_data_key(made, wrapper, record_key=RECORD)).key_id == data_key.key_id

    unsigned = json.dumps({k: v for k, v in fields.items() if not k.startswith("sig")}).encode()
    other = LocalKeyWrapper(generate_key("RSA", size=2048), "https://v.vault.azure.net/keys/other/1")
    _other_key, by_other = asyncio.run(new_data_key(other, record_key=RECORD))
    for refused in (
        unsigned,
        _record(made, sig_alg="PS256"),
        _record(made, id="00" * 8),
        _record(made, sig="not base64!"),
        _record(made, sig_kid=other.key_id),  # another key's id over this key's signature
        _record(by_other, kid=wrapper.key_id, sig_kid=wrapper.key_id),  # this key's ids over another's signature
        by_other,  # valid, but for another key: the wrapper never asks it
        _record(unsigned, alg="CKM_AES_KEY_WRAP"),  # a wrap that would need no signature: not this key's kind
    ):
        with pytest.raises(RecordRefusedError):
            asyncio.run(open_data_key(refused, wrapper, record_key=RECORD))
    with pytest.raises(RecordRefusedError):
        asyncio.run(open_data_key(made, wrapper, record_key="other-namespace:datakey"))


def test_an_aes_key_wrap_record_needs_no_signature() -> None:
    wrapper = LocalKeyWrapper(generate_key("oct", size=256), "https://v.managedhsm.azure.net/keys/k/1")
    assert wrapper.algorithm == "A256KW"
    data_key, made = asyncio.run(new_data_key(wrapper, record_key=RECORD))
    assert "sig" not in json.loads(made)
    assert asyncio.run(open_data_key(made, wrapper, record_key=RECORD)).key_id == data_key.key_id
    # a wrap made without the key does not unwrap: the AES key wrap's integrity check is the authentication
    forged = _record(made, wrapped=base64.b64encode(os.urandom(40)).decode())
    with pytest.raises(DecryptionError, match="integrity check failed"):
        asyncio.run(open_data_key(forged, wrapper, record_key=RECORD))


def test_a_key_ring_verifies_with_the_key_a_record_names() -> None:
    old = LocalKeyWrapper(generate_key("RSA", size=2048), "https://v.vault.azure.net/keys/k/1")
    new = LocalKeyWrapper(generate_key("RSA", size=2048), "https://v.vault.azure.net/keys/k/2")
    _data_key, made = asyncio.run(new_data_key(old, record_key=RECORD))
    ring = KeyRing(new, old)
    rewrapped = asyncio.run(rewrap_record(made, ring, ring, record_key=RECORD))
    assert json.loads(rewrapped)["sig_kid"] == new.key_id
    assert asyncio.run(open_data_key(rewrapped, ring, record_key=RECORD)).key_id.hex() == json.loads(made)["id"]
    digest = b"\x01" * 32
    assert ring.verify_digest("https://elsewhere.vault.azure.net/keys/x/1", "RS256", digest, b"sig") is False
    with pytest.raises(EnvelopeKeyError):  # another version of a key it holds: it cannot tell
        ring.verify_digest("https://v.vault.azure.net/keys/k/3", "RS256", digest, b"sig")
