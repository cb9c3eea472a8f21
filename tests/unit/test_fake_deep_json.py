"""The fake Key Vault answers JSON nested past the parser's recursion limit (a body, a ``$skiptoken``, a key release
policy's data) with the 400 of any malformed input, never an internal error: a few KiB of ``[`` are enough."""

from __future__ import annotations

import base64

import pytest

from kvconfig.fake import FakeKeyVault
from kvconfig.fake.core.wire import FakeRequest

DEEP = b"[" * 3000 + b"]" * 3000
HOST = "https://shop.vault.azure.net"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/secrets/x?api-version=7.5", DEEP),
        ("PUT", "/secrets/x?api-version=7.5", b'{"value": ' + DEEP + b"}"),
        ("GET", f"/secrets?api-version=7.5&$skiptoken={_b64(b'[' * 3000)}", b""),
        (
            "POST",
            "/keys/k/create?api-version=7.5",
            b'{"kty": "RSA", "release_policy": {"data": "' + _b64(DEEP).encode() + b'"}}',
        ),
    ],
)
def test_deeply_nested_json_is_a_bad_request(method: str, path: str, body: bytes) -> None:
    fake = FakeKeyVault()
    fake.set_secret("shop", "a", "v")
    token = fake.credential().get_token("https://vault.azure.net/.default").token
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    response = fake.dispatch(FakeRequest(method, HOST + path, headers, body)).response

    assert response.status == 400, response.body[:200]
