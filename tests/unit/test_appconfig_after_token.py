"""The fake App Configuration's list operations answer a continuation token (``after=``) that decodes to JSON nested
past the parser's recursion limit with 400, as any other token that is not theirs, never an internal error."""

from __future__ import annotations

import base64

import pytest

from kvconfig.fake.appconfig import FakeAppConfiguration
from kvconfig.fake.core.wire import FakeRequest


@pytest.mark.parametrize("path", ["/kv", "/keys", "/labels", "/revisions", "/snapshots"])
def test_a_deeply_nested_continuation_token_is_a_bad_request(path: str) -> None:
    fake = FakeAppConfiguration()
    fake.set("mystore", "k", "v")
    after = base64.urlsafe_b64encode(b"[" * 2000).decode().rstrip("=")
    url = f"{fake.endpoint('mystore')}{path}?api-version=2023-10-01&after={after}"

    outcome = fake.dispatch(FakeRequest("GET", url, {"Authorization": "Bearer x"}))

    assert outcome.response.status == 400, outcome.response.body[:200]
