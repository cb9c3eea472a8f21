"""``FakeKeyVault.patch()``: code that builds its own SDK clients and azure-identity credentials reaches the fake,
nothing else is reachable, and everything is restored afterwards."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from azure.core.exceptions import ServiceRequestError
from azure.core.pipeline.transport import AioHttpTransport, RequestsTransport
from azure.keyvault.secrets import SecretClient
from azure.keyvault.secrets import aio as secrets_aio

from kvconfig.fake import FakeKeyVault
from kvconfig.fake.serve.patch import PATCHED_CREDENTIALS

VAULT = "https://patched.vault.azure.net"


def _credential_classes(module_name: str) -> list[type[Any]]:
    module = importlib.import_module(module_name)
    return [getattr(module, name) for name in PATCHED_CREDENTIALS if hasattr(module, name)]


def _make(cls: type[Any]) -> Any:
    # What production code passes does not matter under patch(); ChainedTokenCredential needs members.
    if cls.__name__ == "ChainedTokenCredential":
        return cls(object())
    return cls()


def _snapshot() -> dict[str, object]:
    found: dict[str, object] = {
        "RequestsTransport.send": RequestsTransport.send,
        "RequestsTransport.sleep": RequestsTransport.sleep,
        "AioHttpTransport.send": AioHttpTransport.send,
        "AioHttpTransport.sleep": AioHttpTransport.sleep,
    }
    for module_name in ("azure.identity", "azure.identity.aio"):
        for cls in _credential_classes(module_name):
            for attr in ("__init__", "get_token", "get_token_info", "close"):
                found[f"{module_name}.{cls.__name__}.{attr}"] = cls.__dict__.get(attr)
    return found


@pytest.mark.parametrize("cls", _credential_classes("azure.identity"), ids=lambda cls: cls.__name__)
def test_patch_serves_sync_client_built_with_each_identity_credential(cls: type[Any]) -> None:
    fake = FakeKeyVault()
    fake.set_secret(VAULT, "db-password", "s3cret")
    with fake.patch(identity="app"):
        credential = _make(cls)
        with SecretClient(VAULT, credential) as client:
            assert client.get_secret("db-password").value == "s3cret"
        credential.close()


@pytest.mark.parametrize("cls", _credential_classes("azure.identity.aio"), ids=lambda cls: cls.__name__)
async def test_patch_serves_async_client_built_with_each_aio_identity_credential(cls: type[Any]) -> None:
    fake = FakeKeyVault()
    fake.set_secret(VAULT, "db-password", "s3cret")
    with fake.patch():
        credential = _make(cls)
        async with secrets_aio.SecretClient(VAULT, credential) as client:
            assert (await client.get_secret("db-password")).value == "s3cret"
        await credential.close()


def test_patch_names_the_identity_in_tokens() -> None:
    from azure.identity import DefaultAzureCredential

    fake = FakeKeyVault()
    callers: list[str | None] = []
    fake.listeners.append(lambda record: callers.append(record.identity.name if record.identity else None))
    with fake.patch(identity="billing-app"), SecretClient(VAULT, DefaultAzureCredential()) as client:
        client.set_secret("s1", "v")
    assert callers[-1] == "billing-app"


def test_patch_refuses_non_vault_hosts_with_clear_error() -> None:
    from azure.core.pipeline import Pipeline
    from azure.core.rest import HttpRequest

    fake = FakeKeyVault()
    with fake.patch(), Pipeline(RequestsTransport()) as pipeline:
        with pytest.raises(ServiceRequestError) as caught:
            pipeline.run(HttpRequest("GET", "https://example.com/anything"))
        assert "refused a request to https://example.com/anything" in str(caught.value)
        assert "FakeKeyVault.patch()" in str(caught.value)


async def test_patch_refuses_non_vault_hosts_for_aiohttp() -> None:
    from azure.core.pipeline import AsyncPipeline
    from azure.core.rest import HttpRequest

    fake = FakeKeyVault()
    with fake.patch():
        async with AsyncPipeline(AioHttpTransport()) as pipeline:
            with pytest.raises(ServiceRequestError):
                await pipeline.run(HttpRequest("GET", "https://login.microsoftonline.com/"))


def test_patch_refuses_sdk_client_pointed_at_non_vault_host() -> None:
    from azure.identity import DefaultAzureCredential

    fake = FakeKeyVault()
    with (
        fake.patch(),
        SecretClient("https://vault.example.com", DefaultAzureCredential(), retry_total=0) as client,
        pytest.raises(ServiceRequestError),
    ):
        client.get_secret("s1")


def test_patch_restores_everything_on_exit() -> None:
    before = _snapshot()
    fake = FakeKeyVault()
    with fake.patch():
        assert RequestsTransport.send is not before["RequestsTransport.send"]
    assert _snapshot() == before


def test_patch_restores_everything_when_the_block_raises() -> None:
    before = _snapshot()
    fake = FakeKeyVault()
    with pytest.raises(RuntimeError, match="boom"), fake.patch():
        raise RuntimeError("boom")
    assert _snapshot() == before


def test_patch_as_decorator_on_sync_function_is_active_only_inside() -> None:
    from azure.identity import DefaultAzureCredential

    fake = FakeKeyVault()
    fake.set_secret(VAULT, "s1", "decorated")
    before = _snapshot()

    @fake.patch()
    def read() -> str | None:
        with SecretClient(VAULT, DefaultAzureCredential()) as client:
            return client.get_secret("s1").value

    assert _snapshot() == before
    assert read() == "decorated"
    assert _snapshot() == before


async def test_patch_as_decorator_on_async_function_is_active_only_inside() -> None:
    from azure.identity.aio import DefaultAzureCredential

    fake = FakeKeyVault()
    fake.set_secret(VAULT, "s1", "decorated-async")
    before = _snapshot()

    @fake.patch()
    async def read() -> str | None:
        async with DefaultAzureCredential() as credential, secrets_aio.SecretClient(VAULT, credential) as client:
            return (await client.get_secret("s1")).value

    assert await read() == "decorated-async"
    assert _snapshot() == before


def test_patch_decorator_restores_when_function_raises() -> None:
    before = _snapshot()
    fake = FakeKeyVault()

    @fake.patch()
    def fail() -> None:
        raise ValueError("inside")

    with pytest.raises(ValueError, match="inside"):
        fail()
    assert _snapshot() == before


def test_patch_cannot_be_started_twice() -> None:
    patch = FakeKeyVault().patch()
    with patch, pytest.raises(RuntimeError):
        patch.start()


def test_patch_leaves_explicit_transports_alone() -> None:
    # A client given fake A's transport keeps talking to A while fake B is patched in.
    first, second = FakeKeyVault(), FakeKeyVault()
    first.set_secret(VAULT, "s1", "from-first")
    second.set_secret(VAULT, "s1", "from-second")
    with (
        second.patch(),
        SecretClient(VAULT, first.credential(), transport=first.transport()) as client,
    ):
        assert client.get_secret("s1").value == "from-first"
