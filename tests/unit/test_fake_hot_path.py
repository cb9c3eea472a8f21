"""The request hot path's shortcuts keep the behaviour they replace: per-token verification cache, route index,
once-per-request URL parsing."""

from __future__ import annotations

import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from kvconfig.fake import FakeKeyVault, FakeRequest, ManualClock
from kvconfig.fake.control.tokens import TokenAuthority
from kvconfig.fake.core.errors import ServiceError
from kvconfig.fake.core.routing import Route, RouteTable

RESOURCE = "https://vault.azure.net"


def test_token_cache_still_checks_expiry_and_audience_on_every_request() -> None:
    clock = ManualClock()
    fake = FakeKeyVault(clock=clock)
    token = fake.credential("app", lifetime=60).get_token(f"{RESOURCE}/.default").token
    identity = fake.tokens.verify(token, RESOURCE)
    assert identity is not None
    assert identity.name == "app"
    assert fake.tokens.verify(token, RESOURCE) is identity
    with pytest.raises(ServiceError, match="audience"):
        fake.tokens.verify(token, "https://vault.azure.cn")
    clock.advance(seconds=61)
    with pytest.raises(ServiceError, match="expired"):
        fake.tokens.verify(token, RESOURCE)


def test_token_cache_keeps_rejecting_a_tampered_token() -> None:
    fake = FakeKeyVault()
    token = fake.credential().get_token(f"{RESOURCE}/.default").token
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for _ in range(2):
        with pytest.raises(ServiceError, match="signature"):
            fake.tokens.verify(tampered, RESOURCE)
    assert fake.tokens.verify("opaque-token", RESOURCE) is None
    assert fake.tokens.verify("opaque-token", RESOURCE) is None


def test_token_cache_follows_a_new_signing_key() -> None:
    authority = TokenAuthority(ManualClock())
    fake = FakeKeyVault()
    fake.tokens = authority
    token = fake.credential().get_token(f"{RESOURCE}/.default").token
    assert authority.verify(token, RESOURCE) is not None
    # A rotation keeps the key id (as a restore of another data folder may): only the signature tells them apart.
    authority.signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(ServiceError, match="signature"):
        authority.verify(token, RESOURCE)


def _handler(name: str):  # type: ignore[no-untyped-def]
    return lambda ctx: {"handled_by": name}


def test_route_index_keeps_table_order_and_sees_later_routes() -> None:
    table = RouteTable(
        [
            Route("POST", "/secrets/restore", "RestoreSecret", _handler("restore")),
            Route("POST", "/secrets/{name}/backup", "BackupSecret", _handler("backup")),
            Route("GET", "/secrets/{name}/{version?}", "GetSecret", _handler("get")),
        ]
    )
    matched = table.match("POST", "/secrets/restore")
    assert matched is not None
    assert matched[0].operation == "RestoreSecret"
    assert table.match("GET", "/SECRETS/s1/")[0].operation == "GetSecret"  # type: ignore[index]
    assert table.match("GET", "/keys/k1") is None
    table.extend([Route("GET", "/keys/{name}", "GetKey", _handler("key"))])
    assert table.match("GET", "/keys/k1")[0].operation == "GetKey"  # type: ignore[index]
    table.routes.append(Route("GET", "/{anything}/x", "Wildcard", _handler("wild")))
    assert table.match("GET", "/other/x")[0].operation == "Wildcard"  # type: ignore[index]
    assert table.match("GET", "/keys/x")[0].operation == "GetKey"  # type: ignore[index]


def test_fake_request_parses_its_url_once_and_keeps_blank_values() -> None:
    request = FakeRequest("GET", "https://MyVault.vault.azure.net:443/secrets?api-version=7.5&$skiptoken=&maxresults=2")
    assert request.parts == ("https", "myvault.vault.azure.net", "/secrets", 443)
    assert request.query == {"api-version": "7.5", "$skiptoken": "", "maxresults": "2"}
    assert request.query is request.query
    other = FakeRequest("GET", request.url)
    assert other.query == request.query
    assert other.query is not request.query


def test_request_header_lookup_ignores_case() -> None:
    request = FakeRequest("GET", "https://v.vault.azure.net/", {"authorization": "Bearer x", "User-Agent": "ua"})
    assert request.header("Authorization") == "Bearer x"
    assert request.header("user-agent") == "ua"
    assert request.header("Missing") is None


def test_response_request_ids_are_random_guids() -> None:
    fake = FakeKeyVault()
    ids = [fake.handle("GET", "https://rid.vault.azure.net/secrets?api-version=7.5").headers["x-ms-request-id"]]
    ids.append(fake.handle("GET", "https://rid.vault.azure.net/secrets?api-version=7.5").headers["x-ms-request-id"])
    parsed = [uuid.UUID(found) for found in ids]
    assert all(found.version == 4 and str(found) == text for found, text in zip(parsed, ids, strict=True))
    assert parsed[0] != parsed[1]


def test_remembered_route_matches_follow_table_changes_and_hand_out_their_own_parameters() -> None:
    table = RouteTable([Route("GET", "/secrets/{name}/{version?}", "GetSecret", _handler("get"))])
    first = table.match("GET", "/secrets/s1/v1")
    assert first is not None
    first[1]["name"] = "changed by a caller"
    again = table.match("GET", "/secrets/s1/v1")
    assert again is not None
    assert again[1] == {"name": "s1", "version": "v1"}
    assert table.match("GET", "/secrets/s1/v1/extra") is None
    table.routes.insert(0, Route("GET", "/secrets/{name}/{version}", "Shadowing", _handler("shadow")))
    assert table.match("GET", "/secrets/s1/v1")[0].operation == "Shadowing"  # type: ignore[index]
    table.routes.append(Route("GET", "/secrets/{name}/{version}/extra", "Extra", _handler("extra")))
    assert table.match("GET", "/secrets/s1/v1/extra")[0].operation == "Extra"  # type: ignore[index]


def test_transport_copies_sdk_headers_with_their_case() -> None:
    from azure.core.rest import HttpRequest
    from azure.core.utils import CaseInsensitiveDict

    from kvconfig.fake.serve.transport import to_fake_request

    request = HttpRequest("GET", "https://v.vault.azure.net/secrets", headers={"Authorization": "Bearer x", "X-A": "1"})
    assert isinstance(request.headers, CaseInsensitiveDict)
    fake_request = to_fake_request(request)
    assert dict(fake_request.headers) == {"Authorization": "Bearer x", "X-A": "1"}
    request.headers["X-A"] = "2"  # a retry may change the SDK's request: the copy keeps what was sent
    assert fake_request.header("x-a") == "1"
