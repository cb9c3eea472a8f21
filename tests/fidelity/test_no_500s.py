"""No request ever reaches an unhandled exception: hypothesis over the fake's whole route table.

Every generated request (any route, on a key vault or a Managed HSM pool, with path parameters, queries, headers and
bodies built from the words the service reads, mixed with garbage) must get a status the service can answer, with
the service's error envelope when it fails, and the fake must count no unhandled exception. A router test checks
that an exception an operation lets escape becomes the service's 500 envelope and is counted, so this suite would
see it. The run is bounded (about half a minute on one core).
"""

from __future__ import annotations

import json
import string
import uuid
from typing import Any
from urllib.parse import quote

import pytest
from azure.keyvault.certificates import CertificateClient, CertificatePolicy, KeyUsageType
from azure.keyvault.certificates import aio as certificates_aio
from cryptography import x509
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kvconfig.fake import FakeKeyVault
from kvconfig.fake.core.api_versions import API_VERSIONS
from kvconfig.fake.core.routing import Route

from .support import fake_with_vault_and_pool

VAULT = "fuzz.vault.azure.net"
HSM = "fuzzhsm.managedhsm.azure.net"
NAMES = ["a", "b", "c1", "Gone", "x" * 127, "x" * 128, "bad_name", "..", "%2F", ""]
HEX_VERSION = "0123456789abcdef0123456789abcdef"

# The words the operations read from bodies (secrets, keys, crypto, certificates, issuers, contacts, policies).
KEYS = [
    "value", "contentType", "attributes", "enabled", "nbf", "exp", "exportable", "recoveryLevel", "tags", "kty",
    "key_size", "crv", "key_ops", "public_exponent", "release_policy", "data", "immutable", "contentType", "alg",
    "digest", "iv", "aad", "tag", "key", "Hsm", "n", "e", "d", "dp", "dq", "qi", "p", "q", "x", "y", "k", "k_hsm",
    "target", "enc", "nonce", "lifetimeActions", "trigger", "timeAfterCreate", "timeBeforeExpiry", "action", "type",
    "expiryTime", "policy", "key_props", "reuse_key", "secret_props", "x509_props", "subject", "sans", "dns_names",
    "emails", "upns", "uris", "ipAddresses", "ekus", "key_usage", "validity_months", "lifetime_actions",
    "lifetime_percentage", "days_before_expiry", "action_type", "issuer", "name", "cty", "cert_transparency",
    "x5c", "pwd", "preserveCertOrder", "cancellation_requested", "credentials", "account_id", "pwd", "org_details",
    "id", "admin_details", "first_name", "last_name", "email", "phone", "provider", "contacts", "contactList",
    "count", "platformManaged", "certificate_usage", "metadata", "hsmPlatform", "attestation", "version",
]  # fmt: skip
WORDS = [
    "RSA", "RSA-HSM", "EC", "EC-HSM", "oct", "oct-HSM", "P-256", "P-384", "P-521", "P-256K", "RSA-OAEP",
    "RSA-OAEP-256", "RSA1_5", "A128GCM", "A256GCM", "A128CBC", "A256CBC", "A128CBCPAD", "A256CBCPAD", "A128KW",
    "A256KW", "RS256", "PS256", "ES256", "ES256K", "HS256", "encrypt", "decrypt", "sign", "verify", "wrapKey",
    "unwrapKey", "import", "export", "Self", "Unknown", "DigiCert", "GlobalSign", "OneCertV2-PublicCA",
    "application/x-pkcs12", "application/x-pem-file", "CN=a", "CN=", "digitalSignature", "keyAgreement",
    "encipherOnly", "decipherOnly", "keyEncipherment", "cRLSign", "1.3.6.1.5.5.7.3.1", "1.2", "AutoRenew",
    "EmailContacts", "Rotate", "Notify", "P30D", "P1Y", "PT1H", "P0D", "-----BEGIN CERTIFICATE-----",
    "AAAA", "AQAB", "YQ", "a.b", "*.example.com", "https://x", "192.0.2.1", "::1", HEX_VERSION,
]  # fmt: skip

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.sampled_from([0, 1, 17, 128, 256, 2048, 3072, 4096, 65537, 2**31, -1, 1200, 1201])
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=24)
    | st.sampled_from(WORDS)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=5)
    ),
    max_leaves=16,
)
bodies = (
    st.dictionaries(st.sampled_from(KEYS), json_values, max_size=6).map(lambda d: json.dumps(d).encode())
    | json_values.map(lambda v: json.dumps(v).encode())
    | st.binary(max_size=64)
    | st.just(b"")
    | st.just(b'{"value": ')
)
# A valid body per write operation: the fuzzer mutates these, so requests get past the first check and reach deep.
B64_32 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
GOOD_BODIES: dict[str, dict[str, Any]] = {
    "SetSecret": {"value": "v", "contentType": "text/plain", "attributes": {"enabled": True}, "tags": {"t": "1"}},
    "UpdateSecret": {"contentType": "x", "attributes": {"enabled": False, "exp": 1_900_000_000}},
    "CreateKey": {"kty": "EC", "crv": "P-256", "key_ops": ["sign", "verify"], "attributes": {"exportable": False}},
    "RotateKey": {},
    "ImportKey": {"key": {"kty": "oct", "k": B64_32, "key_ops": ["encrypt", "decrypt"]}, "Hsm": False},
    "UpdateKey": {"key_ops": ["sign"], "attributes": {"enabled": True}, "tags": {}},
    "encrypt": {"alg": "A256GCM", "value": B64_32, "aad": "YQ"},
    "decrypt": {"alg": "A256CBC", "value": B64_32 + B64_32, "iv": "AAECAwQFBgcICQoLDA0ODw"},
    "sign": {"alg": "ES256", "value": B64_32},
    "verify": {"alg": "ES256", "digest": B64_32, "value": B64_32 + B64_32},
    "wrapKey": {"alg": "A256KW", "value": B64_32},
    "unwrapKey": {"alg": "RSA-OAEP", "value": B64_32},
    "release": {"target": "eyJhbGciOiJub25lIn0.e30.", "enc": "RSA_AES_KEY_WRAP_256"},
    "UpdateKeyRotationPolicy": {
        "lifetimeActions": [{"trigger": {"timeAfterCreate": "P30D"}, "action": {"type": "Rotate"}}],
        "attributes": {"expiryTime": "P1Y"},
    },
    "GetRandomBytes": {"count": 16},
    "CreateCertificate": {
        "policy": {
            "key_props": {"kty": "EC", "crv": "P-256", "exportable": True, "reuse_key": False},
            "secret_props": {"contentType": "application/x-pem-file"},
            "x509_props": {"subject": "CN=a", "sans": {"dns_names": ["a.example"]}, "key_usage": ["digitalSignature"]},
            "issuer": {"name": "Self"},
            "lifetime_actions": [{"trigger": {"lifetime_percentage": 80}, "action": {"action_type": "AutoRenew"}}],
        },
        "attributes": {"enabled": True},
        "tags": {"t": "1"},
    },
    "ImportCertificate": {
        "value": "AAAA",
        "pwd": "",
        "policy": {"secret_props": {"contentType": "application/x-pkcs12"}},
    },
    "UpdateCertificatePolicy": {"x509_props": {"subject": "CN=b", "validity_months": 6}, "issuer": {"name": "Unknown"}},
    "UpdateCertificate": {"attributes": {"enabled": False}, "tags": {"a": "b"}},
    "MergeCertificate": {"x5c": ["AAAA"], "attributes": {"enabled": True}},
    "UpdateCertificateOperation": {"cancellation_requested": True},
    "SetCertificateIssuer": {
        "provider": "Test",
        "credentials": {"account_id": "a", "pwd": "p"},
        "org_details": {"id": "o", "admin_details": [{"first_name": "a", "last_name": "b", "email": "a@b.c"}]},
        "attributes": {"enabled": True},
    },
    "UpdateCertificateIssuer": {"provider": "DigiCert", "credentials": {"account_id": "x"}},
    "SetCertificateContacts": {"contacts": [{"email": "a@b.c", "name": "n", "phone": "1"}]},
    "RoleAssignmentsCreate": {
        "properties": {"roleDefinitionId": "21dbd100-6940-42c2-9190-5d6cb909625b", "principalId": "p1"}
    },
    "RoleDefinitionsCreateOrUpdate": {
        "properties": {
            "roleName": "r",
            "type": "CustomRole",
            "permissions": [{"dataActions": ["Microsoft.KeyVault/managedHsm/keys/read/action"]}],
            "assignableScopes": ["/"],
        }
    },
    "UpdateSetting": {"value": "true"},
    "RestoreSecret": {"value": "AAAA"},
    "RestoreKey": {"value": "AAAA"},
    "RestoreCertificate": {"value": "AAAA"},
}


# The values a field takes, so a mutation is often a valid but unusual choice rather than garbage.
FIELD_WORDS: dict[str, list[Any]] = {
    "key_usage": [
        "digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment", "keyAgreement", "keyCertSign",
        "cRLSign", "encipherOnly", "decipherOnly",
    ],
    "kty": ["RSA", "RSA-HSM", "EC", "EC-HSM", "oct", "oct-HSM"],
    "crv": ["P-256", "P-384", "P-521", "P-256K"],
    "key_size": [128, 192, 256, 2048, 3072, 4096, 1024],
    "alg": [
        "RSA-OAEP", "RSA-OAEP-256", "RSA1_5", "A128GCM", "A256GCM", "A128CBC", "A256CBC", "A128CBCPAD", "A256CBCPAD",
        "A128KW", "A256KW", "RS256", "PS256", "ES256", "ES384", "ES256K", "CKM_AES_KEY_WRAP",
    ],
    "key_ops": ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey", "import", "export"],
    "ekus": ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2", "1.2.3", "2.5.29.37.0"],
    "contentType": ["application/x-pkcs12", "application/x-pem-file", "text/plain"],
    "name": ["Self", "Unknown", "i1", "DigiCert"],
    "action_type": ["AutoRenew", "EmailContacts"],
    "type": ["Rotate", "Notify"],
    "timeAfterCreate": ["P30D", "P1Y", "PT1H", "P0D"],
    "subject": ["CN=a", "CN=a, O=b", "", "CN="],
    "validity_months": [1, 12, 1200, 1201, 0],
    "public_exponent": [3, 17, 65537, 1],
}  # fmt: skip


def _field_words(path: tuple[Any, ...]) -> list[Any] | None:
    for step in reversed(path):
        if isinstance(step, str):
            return FIELD_WORDS.get(step)
    return None


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


@st.composite
def mutated(draw: st.DrawFn, good: Any) -> Any:
    """A valid body with one to three points changed: a part replaced, dropped, or a word added beside it."""
    value = json.loads(json.dumps(good))
    for _ in range(draw(st.integers(0, 3))):
        path = draw(st.sampled_from(_paths(value)))
        if not path:
            return draw(json_values)
        parent = value
        for step in path[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["field", "word", "field", "scalar", "field", "json", "drop", "add"]))
        words = _field_words(path)
        if action == "field" and words is not None:
            if isinstance(parent[path[-1]], list):
                parent[path[-1]] = draw(st.lists(st.sampled_from(words), min_size=1, max_size=3))
            else:
                parent[path[-1]] = draw(st.sampled_from(words))
        elif action == "drop":
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(KEYS))] = draw(st.sampled_from(WORDS) | json_values)
        elif action == "add":
            parent.append(draw(st.sampled_from(WORDS)))
        else:
            strategy = {"word": st.sampled_from(WORDS), "scalar": scalars, "json": json_values}.get(action, scalars)
            parent[path[-1]] = draw(strategy)
    return value


fresh_names = st.text(alphabet=string.ascii_letters + string.digits + "-", min_size=1, max_size=10)
segments = (
    st.sampled_from(["a", "b", "c1", "i1"])
    | fresh_names
    | st.sampled_from(NAMES)
    | st.text(alphabet=string.ascii_letters + string.digits + "-_.~%", max_size=12)
)
# The seeded objects' versions are added once the fake is seeded (below).
SEEDED_VERSIONS: list[str] = []
versions = (
    st.sampled_from(SEEDED_VERSIONS)
    | st.sampled_from(["", HEX_VERSION, "latest", "0"])
    | st.text(alphabet="0123456789abcdefXYZ", max_size=33)
)
api_versions = st.sampled_from(API_VERSIONS[-8:]) | st.sampled_from([*API_VERSIONS, "", "1.0", "2026-03-01-preview"])
queries = st.fixed_dictionaries(
    {"api-version": api_versions},
    optional={
        "maxresults": st.sampled_from(["1", "25", "0", "26", "-1", "x", "99999999999999999999"]),
        "outContentType": st.sampled_from(["application/x-pem-file", "application/x-pkcs12", "x"]),
        "includePending": st.sampled_from(["true", "false", "maybe"]),
        "$skiptoken": st.text(max_size=30),
    },
)


def _path(route: Route, params: dict[str, str]) -> str:
    path = route.template
    for name, value in params.items():
        path = path.replace("{" + name + "?}", value).replace("{" + name + "}", value)
    return path


@st.composite
def requests(draw: st.DrawFn, routes: list[Route]) -> tuple[str, str, dict[str, str], bytes]:
    route = draw(st.sampled_from(routes))
    params = {}
    for name in route.pattern.groupindex:
        params[name] = quote(draw(versions if name == "version" else segments), safe="%")
    hosts = [VAULT] * 4 + [HSM] if "vault" in route.kinds else [HSM] * 4 + [VAULT]
    host = draw(st.sampled_from(hosts))
    query = "&".join(f"{key}={quote(value, safe='')}" for key, value in draw(queries).items())
    method = draw(st.sampled_from([route.method] * 12 + ["GET", "PUT", "POST", "PATCH", "DELETE", "HEAD"]))
    headers = {"Content-Type": "application/json"}
    good = GOOD_BODIES.get(route.operation)
    if good is not None and draw(st.integers(0, 3)) < 3:
        body = json.dumps(draw(mutated(good))).encode()
    else:
        body = draw(bodies)
    return method, f"https://{host}{_path(route, params)}?{query}", headers, body


def _seeded_fake() -> tuple[FakeKeyVault, dict[str, str]]:
    fake, tokens = fake_with_vault_and_pool(VAULT, HSM)
    auth = {"Authorization": f"Bearer {tokens[VAULT]}", "Content-Type": "application/json"}
    hsm_auth = {**auth, "Authorization": f"Bearer {tokens[HSM]}"}
    api = "?api-version=7.6"
    made = []
    for name in ("a", "b"):
        made.append(fake.handle("PUT", f"https://{VAULT}/secrets/{name}{api}", auth, b'{"value": "v"}'))
        made.append(fake.handle("POST", f"https://{VAULT}/keys/{name}/create{api}", auth, b'{"kty": "EC"}'))
        made.append(
            fake.handle(
                "POST", f"https://{HSM}/keys/{name}/create{api}", hsm_auth, b'{"kty": "oct-HSM", "key_size": 256}'
            )
        )
    for response in made:
        payload = response.json()
        SEEDED_VERSIONS.append((payload.get("id") or payload["key"]["kid"]).rsplit("/", 1)[1])
    fake.handle(
        "POST", f"https://{VAULT}/certificates/c1/create{api}", auth, b'{"policy": {"key_props": {"kty": "EC"}}}'
    )
    fake.handle("PUT", f"https://{VAULT}/certificates/issuers/i1{api}", auth, b'{"provider": "Test"}')
    return fake, tokens


_FAKE, _TOKENS = _seeded_fake()
_ROUTES = list(_FAKE.routes.routes)
# Operations that take a body are drawn three times as often: their bodies are where the inputs are.
_WEIGHTED_ROUTES = _ROUTES + [route for route in _ROUTES if route.operation in GOOD_BODIES] * 2
# The statuses an operation may answer besides its own success: the service's client errors, 429 from the throttle,
# and 501 for an operation the fake names but does not implement.
_ERROR_STATUSES = {400, 401, 403, 404, 405, 409, 413, 429, 501}


@settings(
    max_examples=6000,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
@given(request=requests(_WEIGHTED_ROUTES), authorized=st.sampled_from([True] * 9 + [False]))
def test_generated_requests_never_reach_an_unhandled_exception(
    request: tuple[str, str, dict[str, str], bytes], authorized: bool
) -> None:
    method, url, headers, body = request
    _FAKE.unhandled_errors.clear()
    if authorized:
        headers = {**headers, "Authorization": f"Bearer {_TOKENS[url.split('/')[2]]}"}
    response = _FAKE.handle(method, url, headers, body)
    assert _FAKE.unhandled_errors.count == 0, repr(_FAKE.unhandled_errors)
    success = {route.success for route in _ROUTES} | {200, 202, 204}
    assert response.status in success | _ERROR_STATUSES, (method, url, response.status)
    if response.status == 401 and HSM in url:
        assert response.body == b""  # Managed HSM answers 401 with the challenge header alone
        assert response.headers["WWW-Authenticate"].startswith("Bearer ")
    elif response.status >= 400:
        payload = response.json()
        assert isinstance(payload, dict), (method, url, response.body)
        assert isinstance(payload.get("error"), dict), (method, url, response.body)
        assert isinstance(payload["error"].get("code"), str)
        assert payload["error"]["code"]
        assert isinstance(payload["error"].get("message"), str)


policies = st.fixed_dictionaries(
    {},
    optional={
        "key_props": st.fixed_dictionaries(
            {},
            optional={
                "kty": st.sampled_from(FIELD_WORDS["kty"]),
                "key_size": st.sampled_from(FIELD_WORDS["key_size"]),
                "crv": st.sampled_from(FIELD_WORDS["crv"]),
                "exportable": st.booleans(),
                "reuse_key": st.booleans(),
            },
        ),
        "x509_props": st.fixed_dictionaries(
            {"subject": st.sampled_from(FIELD_WORDS["subject"])},
            optional={
                "key_usage": st.lists(st.sampled_from(FIELD_WORDS["key_usage"]), max_size=4),
                "ekus": st.lists(st.sampled_from(FIELD_WORDS["ekus"]), max_size=2),
                "validity_months": st.sampled_from(FIELD_WORDS["validity_months"]),
                "sans": st.fixed_dictionaries({}, optional={"dns_names": st.lists(st.sampled_from(WORDS), max_size=2)}),
            },
        ),
        "secret_props": st.fixed_dictionaries({"contentType": st.sampled_from(FIELD_WORDS["contentType"])}),
        "issuer": st.fixed_dictionaries(
            {"name": st.sampled_from(["Self", "Unknown"])}, optional={"cert_transparency": st.booleans()}
        ),
    },
)


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy=policies)
def test_generated_certificate_policies_are_issued_or_refused_never_crash(policy: dict[str, Any]) -> None:
    _FAKE.unhandled_errors.clear()
    headers = {"Authorization": f"Bearer {_TOKENS[VAULT]}", "Content-Type": "application/json"}
    body = json.dumps({"policy": policy}).encode()
    name = f"p{uuid.uuid4().hex[:12]}"  # a fresh certificate per example: no example depends on another
    response = _FAKE.handle("POST", f"https://{VAULT}/certificates/{name}/create?api-version=7.6", headers, body)
    assert _FAKE.unhandled_errors.count == 0, repr(_FAKE.unhandled_errors)
    assert response.status in (202, 400), (response.status, response.body)
    if response.status == 202:
        _FAKE.handle("DELETE", f"https://{VAULT}/certificates/{name}/pending?api-version=7.6", headers)


def test_unexpected_exception_becomes_the_service_500_envelope_and_is_counted() -> None:
    fake = FakeKeyVault()
    fake.create_vault(VAULT)

    def broken(_ctx: object) -> object:
        raise KeyError("s3cret-value-from-a-body")

    fake.routes.routes.insert(0, Route("GET", "/broken", "Broken", broken))
    token = fake.credential().get_token("https://vault.azure.net/.default").token
    response = fake.handle("GET", f"https://{VAULT}/broken?api-version=7.6", {"Authorization": f"Bearer {token}"})
    assert response.status == 500
    assert response.json() == {
        "error": {
            "code": "InternalServerError",
            "message": "The server encountered an internal error. Please retry the request.",
        }
    }
    assert response.headers["x-ms-request-id"]
    assert fake.unhandled_errors.count == 1
    (found,) = fake.unhandled_errors.recent
    assert (found.operation, found.method, found.exception_type) == ("Broken", "GET", "KeyError")
    assert "broken" in found.where[-1]
    # The exception's message may quote a request body: it is kept nowhere.
    assert "s3cret" not in repr(fake.unhandled_errors)


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize(
    "usages",
    [[KeyUsageType.decipher_only], [KeyUsageType.digital_signature, KeyUsageType.encipher_only]],
    ids=["decipher-only", "signature-encipher-only"],
)
async def test_key_usage_only_flags_without_key_agreement_are_kept_and_the_certificate_issued(
    mode: str, usages: list[KeyUsageType]
) -> None:
    fake = FakeKeyVault()
    url = "https://usage.vault.azure.net"
    policy = CertificatePolicy(issuer_name="Self", subject="CN=usage", key_usage=usages)
    if mode == "async":
        async with certificates_aio.CertificateClient(
            url, fake.async_credential(), transport=fake.async_transport()
        ) as aclient:
            cert = await aclient.create_certificate("c", policy, _polling_interval=0)
            stored = await aclient.get_certificate_policy("c")
    else:
        with CertificateClient(url, fake.credential(), transport=fake.transport()) as client:
            cert = client.begin_create_certificate("c", policy, _polling_interval=0).result()
            stored = client.get_certificate_policy("c")
    assert cert.policy is not None
    assert cert.policy.key_usage == usages
    assert stored.key_usage == usages
    issued = x509.load_der_x509_certificate(bytes(cert.cer))
    # encipherOnly/decipherOnly mean nothing without keyAgreement (RFC 5280 4.2.1.3): the certificate keeps the rest.
    wanted_signature = KeyUsageType.digital_signature in usages
    try:
        usage = issued.extensions.get_extension_for_class(x509.KeyUsage).value
        assert usage.digital_signature is wanted_signature
        assert not usage.key_agreement
    except x509.ExtensionNotFound:
        assert not wanted_signature
    assert fake.unhandled_errors.count == 0
