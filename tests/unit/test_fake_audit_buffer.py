"""The audit log records cheaply and within a bound: records are built on read, the oldest go first when it is full."""

from __future__ import annotations

import gc
import json

import pytest

from kvconfig.fake import FakeKeyVault
from kvconfig.fake.control.audit import DEFAULT_MAX_RECORDS

VAULT = "https://auditbuffer.vault.azure.net"
RESOURCE = "https://vault.azure.net"


def _get(fake: FakeKeyVault, name: str, token: str) -> int:
    response = fake.handle(
        "GET", f"{VAULT}/secrets/{name}?api-version=7.5", {"Authorization": f"Bearer {token}", "User-Agent": "t"}
    )
    return response.status


def _token(fake: FakeKeyVault, identity: str = "app") -> str:
    return fake.credential(identity).get_token(f"{RESOURCE}/.default").token


def test_audit_log_is_bounded_by_default_and_counts_what_it_drops() -> None:
    fake = FakeKeyVault()
    assert fake.audit.max_records == DEFAULT_MAX_RECORDS == 100_000
    fake.audit.max_records = 3
    fake.set_secret(VAULT, "s1", "value")
    token = _token(fake)
    for name in ("s1", "a", "b", "c", "d"):
        _get(fake, name, token)
    assert len(fake.audit) == 3
    assert fake.audit.dropped == 2
    assert [event.properties["requestUri"].split("/")[4].split("?")[0] for event in fake.audit] == ["b", "c", "d"]
    assert repr(fake.audit) == "AuditLog(3 records, 2 dropped)"
    fake.audit.clear()
    assert (len(fake.audit), fake.audit.dropped) == (0, 0)


def test_lowering_the_bound_keeps_the_newest_records_and_none_keeps_all() -> None:
    fake = FakeKeyVault()
    token = _token(fake)
    for name in ("a", "b", "c", "d"):
        _get(fake, name, token)
    fake.audit.max_records = 2
    assert fake.audit.dropped == 2
    assert [event.status for event in fake.audit] == [404, 404]
    fake.audit.max_records = None
    for name in ("e", "f", "g"):
        _get(fake, name, token)
    assert len(fake.audit) == 5
    assert fake.audit.dropped == 2
    with pytest.raises(ValueError, match="max_records"):
        fake.audit.max_records = -1


def test_records_are_built_on_read_and_keep_what_was_true_when_the_request_was_made() -> None:
    fake = FakeKeyVault()
    vault = fake.create_vault(VAULT)
    resource_id = vault.properties.resource_id.upper()
    _get(fake, "missing", _token(fake))
    fake.delete_vault(VAULT)  # the vault is gone when the log is read: its record still names it
    (event,) = fake.audit.records()
    assert fake.audit.records() == [event]
    assert event.resource_id == resource_id
    assert event.operation_name == "SecretGet"
    assert event.caller == "app"
    exported = json.loads(_jsonl(fake))
    assert exported["resourceId"] == resource_id
    assert exported["properties"]["httpStatusCode"] == 404
    assert exported["resultSignature"] == "Not Found"


def test_challenge_request_is_named_after_the_operation_its_url_addresses() -> None:
    fake = FakeKeyVault()
    fake.handle("GET", f"{VAULT}/secrets/s1/?api-version=7.5")
    (event,) = fake.audit.records()
    assert (event.operation_name, event.status, event.identity) == ("SecretGet", 401, None)


def test_a_disabled_audit_log_records_nothing() -> None:
    fake = FakeKeyVault()
    fake.audit.enabled = False
    _get(fake, "s1", _token(fake))
    assert len(fake.audit) == 0
    assert fake.audit.dropped == 0


def _jsonl(fake: FakeKeyVault) -> str:
    import io

    stream = io.StringIO()
    assert fake.audit.to_jsonl(stream) == 1
    return stream.getvalue()


def test_kept_records_are_left_alone_by_the_garbage_collector() -> None:
    # A full buffer of tracked objects made every full collection walk all of them: recording keeps flat tuples.
    fake = FakeKeyVault()
    token = _token(fake)
    for name in ("a", "b"):
        _get(fake, name, token)
    gc.collect()
    assert not any(gc.is_tracked(snapshot) for snapshot in fake.audit._snapshots)
