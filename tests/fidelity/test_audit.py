"""The audit log through the official SecretClient: one AuditEvent per request, with the right result, no values."""

from __future__ import annotations

import io
import json
import uuid

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from kvconfig.fake import RequestRecord

from .support import VaultUnderTest


def _fresh_vault_url() -> str:
    # A host no client has talked to yet, so the SDK's first request is its unauthenticated challenge request.
    return f"https://audit{uuid.uuid4().hex[:12]}.vault.azure.net"


async def test_audit_holds_exactly_one_record_per_request_with_its_result(kv: VaultUnderTest) -> None:
    fake = kv.need_fake()
    seen: list[RequestRecord] = []
    fake.listeners.append(seen.append)
    url = _fresh_vault_url()
    vault = fake.create_vault(url)
    vault.assign_role("app", "Key Vault Secrets Officer")
    vault.assign_role("reader", "Key Vault Reader")
    app = kv.make_client(url, credential=_credential(kv, "app"))
    reader = kv.make_client(url, credential=_credential(kv, "reader"))

    await kv.call(app.set_secret, "s1", "super-secret-value")
    await kv.call(app.get_secret, "s1")
    with pytest.raises(ResourceNotFoundError):
        await kv.call(app.get_secret, "missing")
    with pytest.raises(HttpResponseError):
        await kv.call(reader.get_secret, "s1")

    records = fake.audit.records(vault=vault.name)
    assert len(records) == len(seen)
    assert [(r.operation_name, r.status, r.result_type, r.result_signature) for r in records] == [
        ("SecretSet", 401, "Failure", "Unauthorized"),  # the SDK's challenge request
        ("SecretSet", 200, "Success", "OK"),
        ("SecretGet", 200, "Success", "OK"),
        ("SecretGet", 404, "Failure", "Not Found"),
        ("SecretGet", 403, "Failure", "Forbidden"),
    ]
    challenge, created, read, _missing, denied = records
    assert challenge.identity is None
    assert created.caller == "app"
    assert created.properties["id"].startswith(f"{url}/secrets/s1/")
    assert created.properties["isRbacAuthorized"] is True
    assert read.resource_id == vault.properties.resource_id.upper()
    assert read.operation_version == str(app.api_version)
    assert read.correlation_id
    assert read.caller_ip_address == "127.0.0.1"
    assert read.properties["requestUri"].startswith(f"{url}/secrets/s1")
    assert read.properties["clientInfo"].startswith("azsdk-python-keyvault-secrets")
    assert denied.caller == "reader"
    assert denied.properties["isRbacAuthorized"] is False
    assert denied.result_description == "Forbidden"


def _credential(kv: VaultUnderTest, identity: str) -> object:
    fake = kv.need_fake()
    return fake.async_credential(identity) if kv.is_async else fake.credential(identity)


async def test_audit_is_queryable_clearable_and_exports_json_lines_without_values(kv: VaultUnderTest) -> None:
    fake = kv.need_fake()
    await kv.set("s1", "super-secret-value")
    await kv.call(kv.client.get_secret, "s1")
    assert len(fake.audit.records(operation="SecretGet")) == 1
    assert fake.audit.records(operation="GetSecret") == fake.audit.records(operation="SecretGet")
    assert fake.audit.records(operation="SecretGet", identity="someone-else") == []
    assert fake.audit.records(status=200, operation="SecretSet")

    stream = io.StringIO()
    count = fake.audit.to_jsonl(stream)
    lines = stream.getvalue().splitlines()
    assert count == len(lines) == len(fake.audit)
    first = json.loads(lines[-1])
    assert set(first) >= {
        "time",
        "resourceId",
        "operationName",
        "operationVersion",
        "category",
        "resultType",
        "resultSignature",
        "resultDescription",
        "durationMs",
        "callerIpAddress",
        "correlationId",
        "properties",
    }
    assert first["category"] == "AuditEvent"
    assert first["properties"]["httpStatusCode"] == 200
    assert "super-secret-value" not in stream.getvalue()

    fake.audit.clear()
    assert len(fake.audit) == 0


def test_audit_exports_to_a_file(tmp_path: object) -> None:
    from pathlib import Path

    from kvconfig.fake import FakeKeyVault

    fake = FakeKeyVault()
    fake.handle("GET", "https://filevault.vault.azure.net/secrets?api-version=7.5")
    target = Path(str(tmp_path)) / "audit.jsonl"
    assert fake.audit.to_jsonl(target) == 1
    record = json.loads(target.read_text(encoding="utf-8"))
    assert record["operationName"] == "SecretList"
    assert record["resultSignature"] == "Unauthorized"
    assert "identity" not in record
