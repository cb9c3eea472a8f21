"""The portal's reveal endpoint answers every body it admits with a 4xx, never an unhandled exception: JSON nested
past the parser's recursion limit fits in the 4 KiB a reveal request may be."""

from __future__ import annotations

import pytest

from kvconfig.fake import FakeKeyVault
from kvconfig.fake.appconfig import FakeAppConfiguration
from kvconfig.fake.core.wire import FakeRequest
from kvconfig.fake.serve.portal import MAX_REVEAL_BODY, TOKEN_HEADER, Portal

ORIGIN = "https://localhost:8443"


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 2000 + b"]" * 2000,
        b'{"store": ' + b"[" * 2000 + b"]" * 2000 + b"}",
        b"[" * MAX_REVEAL_BODY,
        b'{"store": "x", "key": {"a": 1}, "label": null}',
        b'{"store": "x.azconfig.localhost:8443", "key": "k", "label": 5}',
        b'{"store": null}',
        b"\xff\xfe",
    ],
)
def test_an_odd_reveal_body_is_a_client_error(body: bytes) -> None:
    assert len(body) <= MAX_REVEAL_BODY
    portal = Portal(FakeKeyVault(), FakeAppConfiguration())
    headers = {"x-forwarded-for": "127.0.0.1", "Origin": ORIGIN, "Content-Type": "application/json"}
    headers[TOKEN_HEADER] = portal.issue_token()

    answer = portal.serve(FakeRequest("POST", f"{ORIGIN}/_kvconfig/portal/reveal", headers, body))

    assert answer is not None
    assert 400 <= answer.status < 500, answer.body[:200]
