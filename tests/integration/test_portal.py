"""The emulator's portal over real TLS: what the page shows, what it never holds, and who may reveal a value.

The browser-level tests (a click reveals, the XSS seed stays text in the DOM) are in ``test_portal_browser.py``;
these check the same page at the HTTP level, so they run wherever the emulator does.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from kvconfig.fake import FakeKeyVault, ManualClock
from kvconfig.fake.core.wire import FakeRequest
from kvconfig.fake.serve.emulator import EmulatorServer
from kvconfig.fake.serve.portal import MAX_REVEAL_BODY, TOKEN_HEADER, Portal
from kvconfig.fake.serve.portal_page import MAX_OBJECTS

from .portal_support import (
    OLD_VALUE,
    STORE,
    STORE_VALUE,
    TOKEN_META,
    VALUE,
    XSS_CONTENT_TYPE,
    XSS_KEY,
    XSS_NAME,
    XSS_TAG,
    Arranged,
)

pytest.importorskip("uvicorn")
pytestmark = pytest.mark.serve_stores  # the portal shows App Configuration stores too


def _trusting(server: EmulatorServer) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(server.ca_path))


@pytest.fixture
def fake() -> FakeKeyVault:
    return FakeKeyVault(clock=ManualClock())


@pytest.fixture
def client(server: EmulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, verify=_trusting(server), timeout=10) as http:
        yield http


def _page(client: httpx.Client) -> tuple[httpx.Response, str]:
    response = client.get("/_kvconfig/portal")
    assert response.status_code == 200, response.text
    match = TOKEN_META.search(response.text)
    assert match is not None
    return response, match.group(1)


def _reveal(client: httpx.Client, server: EmulatorServer, token: str, body: Any, **headers: str) -> httpx.Response:
    sent = {"Origin": server.base_url, TOKEN_HEADER: token, **headers}
    return client.post("/_kvconfig/portal/reveal", json=body, headers=sent)


def test_portal_lists_vaults_objects_versions_deleted_audit_events_clock_and_faults(
    arranged: Arranged, client: httpx.Client
) -> None:
    response, _ = _page(client)
    page = response.text
    assert "shop" in page
    assert f"https://{arranged.vault_host}" in page
    for name in ("db-password", "signing-key", "web-tls", "doomed"):
        assert name in page
    assert arranged.version in page
    assert arranged.old_version in page
    assert "team=payments" in page
    assert "RSA 2048" in page
    assert "CN=DefaultPolicy" in page
    assert "SecretDelete" in page
    assert "alice" in page
    assert "carol" in page
    assert ">503<" in page
    assert "SecretNewVersionCreated" in page
    assert "status 503" in page
    assert "GetSecret" in page
    assert "(manual, 2d ahead of wall time)" in page


def test_portal_page_and_assets_hold_no_secret_value(arranged: Arranged, client: httpx.Client) -> None:
    response, _ = _page(client)
    for text in (response.text, client.get("/_kvconfig/portal/portal.js").text):
        assert VALUE not in text
        assert OLD_VALUE not in text
        assert "xss-value" not in text
        assert "gone-soon" not in text


def test_portal_escapes_names_tags_and_content_types(arranged: Arranged, client: httpx.Client) -> None:
    page = _page(client)[0].text
    assert XSS_NAME not in page
    assert XSS_TAG not in page
    assert XSS_CONTENT_TYPE not in page
    assert "&lt;script&gt;window.kvPwned=1&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=window.kvPwned=2&gt;" in page
    assert "&quot;&gt;&lt;script&gt;window.kvPwned=3" in page
    # The one script element is the portal's own file; nothing inline.
    assert re.findall(r"<script[^>]*>", page) == ['<script src="/_kvconfig/portal/portal.js" defer>']
    assert "<style" not in page
    assert " style=" not in page
    assert " on" + "click=" not in page


def test_portal_answers_with_strict_csp_nosniff_and_no_caching(
    arranged: Arranged, client: httpx.Client, server: EmulatorServer
) -> None:
    response, token = _page(client)
    revealed = _reveal(client, server, token, _body(arranged))
    assert revealed.status_code == 200
    for answer in (response, revealed, client.get("/_kvconfig/portal/portal.css")):
        csp = answer.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Cache-Control"] == "no-store"
        assert answer.headers["Referrer-Policy"] == "no-referrer"


def _body(arranged: Arranged, version: str | None = None) -> dict[str, str]:
    return {"vault": arranged.vault_host, "name": "db-password", "version": version or arranged.version}


def test_reveal_returns_the_one_value_asked_for(
    arranged: Arranged, client: httpx.Client, server: EmulatorServer
) -> None:
    _, token = _page(client)
    assert _reveal(client, server, token, _body(arranged)).json() == {"value": VALUE}
    assert _reveal(client, server, token, _body(arranged, arranged.old_version)).json() == {"value": OLD_VALUE}
    missing = _reveal(client, server, token, _body(arranged, "0" * 32))
    assert missing.status_code == 404
    assert VALUE not in missing.text


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Origin": "https://evil.example"}, 403),
        ({"Origin": "null"}, 403),
        ({"Sec-Fetch-Site": "cross-site"}, 403),
        ({TOKEN_HEADER: "not-a-token-this-portal-issued"}, 403),
        ({TOKEN_HEADER: ""}, 403),
    ],
)
def test_reveal_refuses_requests_not_from_the_portal_page(
    arranged: Arranged, client: httpx.Client, server: EmulatorServer, headers: dict[str, str], status: int
) -> None:
    _, token = _page(client)
    refused = _reveal(client, server, token, _body(arranged), **headers)
    assert refused.status_code == status
    assert VALUE not in refused.text


def test_reveal_without_origin_header_is_refused(arranged: Arranged, client: httpx.Client) -> None:
    _, token = _page(client)
    refused = client.post("/_kvconfig/portal/reveal", json=_body(arranged), headers={TOKEN_HEADER: token})
    assert refused.status_code == 403
    assert VALUE not in refused.text


def test_reveal_takes_only_a_small_json_post(arranged: Arranged, client: httpx.Client, server: EmulatorServer) -> None:
    _, token = _page(client)
    assert client.get("/_kvconfig/portal/reveal").status_code == 405
    headers = {"Origin": server.base_url, TOKEN_HEADER: token}
    form = client.post("/_kvconfig/portal/reveal", data=_body(arranged), headers=headers)  # a form post: CSRF's way
    assert form.status_code == 415
    garbage = client.post(
        "/_kvconfig/portal/reveal", content=b"{not json", headers={**headers, "Content-Type": "application/json"}
    )
    assert garbage.status_code == 400
    assert _reveal(client, server, token, ["db-password"]).status_code == 400
    assert _reveal(client, server, token, {**_body(arranged), "name": "x" * 600}).status_code == 400
    huge = _reveal(client, server, token, {**_body(arranged), "padding": "x" * MAX_REVEAL_BODY})
    assert huge.status_code == 413


def test_portal_refuses_another_host_name_as_dns_rebinding_would_send(
    arranged: Arranged, server: EmulatorServer
) -> None:
    with httpx.Client(verify=_trusting(server)) as http:
        response = http.get(f"{server.base_url}/_kvconfig/portal", headers={"Host": f"attacker.example:{server.port}"})
    assert response.status_code == 403
    assert "db-password" not in response.text


def test_portal_refuses_clients_off_loopback(fake: FakeKeyVault) -> None:
    portal = Portal(fake)
    request = FakeRequest("GET", "https://localhost:8443/_kvconfig/portal", {"x-forwarded-for": "10.1.2.3"})
    refused = portal.serve(request)
    assert refused is not None
    assert refused.status == 403
    allowed = portal.serve(FakeRequest("GET", "https://localhost:8443/_kvconfig/portal", {"x-forwarded-for": "::1"}))
    assert allowed is not None
    assert allowed.status == 200


def test_reveal_tokens_are_bounded_and_the_oldest_is_forgotten(fake: FakeKeyVault) -> None:
    fake.set_secret("shop", "db-password", VALUE, version="a" * 32)
    portal = Portal(fake)
    first = portal.issue_token()
    for _ in range(1024):
        portal.issue_token()

    def reveal(token: str) -> int:
        headers = {
            "x-forwarded-for": "127.0.0.1",
            "Origin": "https://localhost:8443",
            "Content-Type": "application/json",
            TOKEN_HEADER: token,
        }
        body = b'{"vault": "shop.vault.azure.net", "name": "db-password", "version": "' + b"a" * 32 + b'"}'
        answer = portal.serve(FakeRequest("POST", "https://localhost:8443/_kvconfig/portal/reveal", headers, body))
        assert answer is not None
        return answer.status

    assert reveal(first) == 403
    assert reveal(portal.issue_token()) == 200


def test_portal_bounds_long_lists_and_says_how_many_it_left_out(fake: FakeKeyVault, client: httpx.Client) -> None:
    for index in range(MAX_OBJECTS + 7):
        fake.set_secret("bulk", f"s{index:04d}", "v")
    page = _page(client)[0].text
    assert "7 more secrets not shown" in page
    assert f"s{MAX_OBJECTS - 1:04d}" in page
    assert f"s{MAX_OBJECTS:04d}" not in page


def test_vault_hosts_do_not_serve_the_portal(arranged: Arranged, server: EmulatorServer) -> None:
    # A vault host's /_kvconfig/portal is a vault path: the router answers it (401 challenge), not the portal.
    with httpx.Client(verify=_trusting(server)) as http:
        response = http.get(f"https://127.0.0.1:{server.port}/_kvconfig/portal", headers={"Host": arranged.vault_host})
    assert response.status_code != 200
    assert "kvconfig-portal-token" not in response.text


# -- App Configuration stores ----------------------------------------------------------------------------------------


def _key_value(server: EmulatorServer, key: str = "app:greeting", label: str | None = "prod") -> dict[str, Any]:
    return {"store": server.store_url_for(STORE).removeprefix("https://"), "key": key, "label": label}


def test_portal_lists_stores_and_their_key_values_with_values_masked(
    arranged: Arranged, client: httpx.Client, server: EmulatorServer
) -> None:
    page = _page(client)[0].text
    store = page[page.index('<section class="card store"') :]
    store = store[: store.index("</section>")]
    assert server.store_url_for(STORE) in store
    for shown in ("app:greeting", ">prod<", "team=web", "(no label)", "app:db-password", ">locked<", "3 key-values"):
        assert shown in store
    assert f"https://{arranged.vault_host}/secrets/db-password" in store  # the reference's target
    assert f'<a href="#store-0">{STORE}</a>' in page
    assert store.count('class="value hidden">••••••</span>') == 3  # masked as secrets are
    assert STORE_VALUE not in page
    assert "xss-kv-value" not in page
    assert XSS_KEY not in page
    assert "&lt;script&gt;window.kvPwned=4&lt;/script&gt;" in store


def test_reveal_returns_one_key_value_by_store_key_and_label(
    arranged: Arranged, client: httpx.Client, server: EmulatorServer
) -> None:
    _, token = _page(client)
    assert _reveal(client, server, token, _key_value(server)).json() == {"value": STORE_VALUE}
    assert _reveal(client, server, token, _key_value(server, XSS_KEY, None)).json() == {"value": "xss-kv-value"}
    assert _reveal(client, server, token, _key_value(server, label=None)).status_code == 404  # the null label's
    assert _reveal(client, server, token, {**_key_value(server), "store": "other.example"}).status_code == 404
    for bad in ({**_key_value(server), "label": 7}, {**_key_value(server), "key": ""}, {"store": "x", "extra": 1}):
        refused = _reveal(client, server, token, bad)
        assert refused.status_code == 400
        assert STORE_VALUE not in refused.text
    foreign = _reveal(client, server, token, _key_value(server), Origin="https://evil.example")
    assert foreign.status_code == 403
    assert STORE_VALUE not in foreign.text
