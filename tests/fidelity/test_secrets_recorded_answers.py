"""Secrets as the service's recorded answers show them: a conversion of a value that is not certificate material is
refused, and a deleted secret that was disabled cannot be read."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError

from .support import VaultUnderTest


@pytest.mark.parametrize("content_type", [None, "text/plain"], ids=["no-content-type", "text"])
async def test_get_secret_pem_conversion_of_a_plain_secret_raises_bad_parameter(
    kv: VaultUnderTest, content_type: str | None
) -> None:
    name = kv.name()
    await kv.set(name, "not a certificate", content_type=content_type)
    with pytest.raises(HttpResponseError) as caught:
        await kv.call(kv.client.get_secret, name, out_content_type="application/x-pem-file")
    assert caught.value.status_code == 400
    assert caught.value.error is not None
    assert caught.value.error.code == "BadParameter"
    assert caught.value.error.message.startswith("The 'Unsupported' to 'PEM' transformation is not supported")
    assert (await kv.call(kv.client.get_secret, name)).value == "not a certificate"


async def test_get_deleted_secret_that_was_disabled_raises_forbidden_secret_disabled(kv: VaultUnderTest) -> None:
    name = kv.name()
    await kv.set(name, "v", enabled=False)
    deleted = await kv.delete(name)  # the delete poller stops at the 403, as the SDK documents
    assert deleted.name == name
    with pytest.raises(HttpResponseError) as caught:
        await kv.call(kv.client.get_deleted_secret, name)
    assert caught.value.status_code == 403
    assert caught.value.error is not None
    assert caught.value.error.code == "Forbidden"
    assert caught.value.error.innererror == {"code": "SecretDisabled"}
    assert caught.value.error.message == "Operation get is not allowed on a disabled secret."
    listed = [item.name for item in await kv.collect(kv.client.list_deleted_secrets())]
    assert name in listed
    await kv.call(kv.client.purge_deleted_secret, name)
