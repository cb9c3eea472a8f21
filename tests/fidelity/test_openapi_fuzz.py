"""No 500s against the service's own descriptions: schemathesis over the Key Vault data-plane OpenAPI (2025-07-01).

Every operation of ``secrets.json``, ``keys.json``, ``certificates.json`` (on a vault) and ``rbac.json``,
``settings.json``, ``backuprestore.json`` (on a Managed HSM pool; ``keys.json`` on both) gets requests that
schemathesis generates from the operation's parameters and body schema, valid ones and invalid ones, sent in-process
to the fake's ASGI app (``FakeKeyVault().asgi_app()``) through schemathesis's ASGI transport, with a valid bearer
token. Half the cases aim their path parameters at objects the fake holds (a seeded secret, key, certificate,
issuer, setting, role) so valid bodies reach the operation rather than its 404.

The checks (see ``CHECKS`` and ``_check_answer``): schemathesis's ``not_a_server_error`` (no 5xx, ever),
``response_schema_conformance`` and ``content_type_conformance`` (every answer the description documents has its
shape and media type; errors are ``KeyVaultError``), ``ignored_auth`` (a request the fake accepts is refused
without the token); ours: every error is the service's envelope (``{"error": {"code", "message"}}``, or Managed
HSM's bare 401 challenge) and every status is one the operation documents or one of the service's generic ones.
Left out, because the descriptions are incomplete rather than the fake wrong: ``status_code_conformance`` (every
operation documents ``default``, so it passes anything; ours is stricter), ``negative_data_rejection`` (the
service ignores unknown body fields and takes any string where the description names an enum, and an invalid
``api-version`` is a 400 anyway), ``positive_data_acceptance`` (a valid request for an object that does not exist
is a 404, not a failure), ``response_headers_conformance`` (Swagger 2.0 headers are never required) and the
stateful checks (the descriptions declare no links). The fake must also count no unhandled exception.

Bounded: ``EXAMPLES`` cases per operation, about a minute for all six descriptions on one core.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import CheckContext, not_a_server_error  # noqa: E402
from schemathesis.core.failures import FailureGroup, ServerError  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    ignored_auth,
    response_schema_conformance,
)

from kvconfig.fake import FakeKeyVault, ManualClock  # noqa: E402

SPECS = Path(__file__).parent / "openapi" / "2025-07-01"
API_VERSION = "2025-07-01"
VAULT = "fuzzvault.vault.azure.net"
HSM = "fuzzhsm.managedhsm.azure.net"
# Cases per operation: 12 keeps the suite's share near 20 s; KVCONFIG_FUZZ_EXAMPLES=500 is a deeper, random local run.
EXAMPLES = int(os.environ.get("KVCONFIG_FUZZ_EXAMPLES", "12"))
# The statuses any operation may answer besides its documented ones: the service's generic client errors.
GENERIC_ERRORS = {400, 401, 403, 404, 405, 409, 429}
HOSTS = {
    "secrets.json": [VAULT],
    "certificates.json": [VAULT],
    "keys.json": [VAULT, HSM],
    "rbac.json": [HSM],
    "settings.json": [HSM],
    "backuprestore.json": [HSM],
}
# Where the descriptions are narrower than the service's own answers (its examples in the same folder): property ->
# the definitions (name suffix) whose property may be null.
DESCRIPTION_GAPS = {
    "nextLink": "ListResult",  # the last page says "nextLink": null (GetCertificates-example.json and the others)
}
# Extensible enums (x-ms-enum modelAsString: true) whose answers go beyond the listed values, with what a real
# Managed HSM pool answers (kvconfig/fake/core/roles.py has its built-in roles).
OPEN_ENUMS = {
    "RoleType": "built-in role definitions say AKSBuiltInRole",
    "DataAction": "built-in role definitions grant wildcards such as .../roleAssignments/*",
}
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance, ignored_auth]


def _seeded_fake() -> tuple[FakeKeyVault, dict[str, str], dict[str, list[str]]]:
    """A fake with one vault and one pool holding a few objects; its tokens; the path values that name them."""
    fake = FakeKeyVault(clock=ManualClock(1_750_000_000))
    fake.create_vault(VAULT)
    fake.create_vault(HSM, cloud="managedhsm.azure.net", activated=True)
    credential = fake.credential(lifetime=10**8)
    tokens = {
        VAULT: credential.get_token("https://vault.azure.net/.default").token,
        HSM: credential.get_token("https://managedhsm.azure.net/.default").token,
    }

    def send(host: str, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {tokens[host]}", "Content-Type": "application/json"}
        response = fake.handle(method, f"https://{host}{path}?api-version={API_VERSION}", headers, json.dumps(body))
        assert response.status < 300, (path, response.status)
        payload: dict[str, Any] = response.json()
        return payload

    versions = [send(VAULT, "PUT", "/secrets/a", {"value": "v"})["id"].rsplit("/", 1)[1]]
    versions.append(send(VAULT, "POST", "/keys/a/create", {"kty": "EC"})["key"]["kid"].rsplit("/", 1)[1])
    versions.append(
        send(HSM, "POST", "/keys/a/create", {"kty": "oct-HSM", "key_size": 256})["key"]["kid"].rsplit("/", 1)[1]
    )
    send(
        VAULT,
        "POST",
        "/certificates/c/create",
        {"policy": {"key_props": {"kty": "EC"}, "x509_props": {"subject": "CN=c"}, "issuer": {"name": "Self"}}},
    )
    send(VAULT, "PUT", "/certificates/issuers/i1", {"provider": "Test"})
    send(VAULT, "PUT", "/certificates/contacts", {"contacts": [{"email": "a@b.c"}]})
    definitions = send(HSM, "GET", "/providers/Microsoft.Authorization/roleDefinitions", {})["value"]
    known = {
        "secret-name": ["a", "c"],
        "key-name": ["a"],
        "keyName": ["a"],
        "certificate-name": ["c"],
        "issuer-name": ["i1"],
        "secret-version": [*versions, ""],
        "key-version": [*versions, ""],
        "certificate-version": [""],
        "setting-name": ["AllowKeyManagementOperationsThroughARM"],
        "scope": ["/", "/keys"],
        "roleDefinitionName": [definition["name"] for definition in definitions[:3]],
        "roleAssignmentName": ["00000000-0000-0000-0000-000000000001"],
    }
    return fake, tokens, known


def _load(spec: str) -> Any:
    """The description, with the gaps the service's own examples show (``DESCRIPTION_GAPS``) filled."""
    raw = json.loads((SPECS / spec).read_text(encoding="utf-8"))
    for name, definition in raw["definitions"].items():
        if name in OPEN_ENUMS:
            assert definition["x-ms-enum"]["modelAsString"], name  # only an extensible enum may answer other values
            del definition["enum"]
        for prop, nullable in DESCRIPTION_GAPS.items():
            if prop in definition.get("properties", {}) and (name.endswith(nullable) or nullable == "*"):
                definition["properties"][prop]["x-nullable"] = True
    return schemathesis.openapi.from_dict(raw)


def _operations() -> list[Any]:
    params = []
    for spec in HOSTS:
        schema = _load(spec)
        for result in schema.get_all_operations():
            operation = result.ok()
            params.append(pytest.param(spec, operation, id=f"{spec.removesuffix('.json')}:{operation.label}"))
    return params


_FAKES: dict[str, tuple[FakeKeyVault, dict[str, str], dict[str, list[str]]]] = {}


def _fake_for(spec: str) -> tuple[FakeKeyVault, dict[str, str], dict[str, list[str]]]:
    # One fake per description: a role assignment made while fuzzing rbac.json must not turn on access checks for
    # the keys fuzzed afterwards, and a purge in one must not empty another's seeded objects.
    if spec not in _FAKES:
        _FAKES[spec] = _seeded_fake()
    return _FAKES[spec]


def _check_answer(ctx: CheckContext, response: Any, case: Any) -> bool | None:
    """The fake's own promises: a documented or generic status, and the service's error envelope on every error."""
    documented = {int(code) for code in case.operation.definition.raw["responses"] if code.isdigit()}
    assert response.status_code in documented | GENERIC_ERRORS, (
        f"{case.method} {case.formatted_path} answered {response.status_code}, neither documented nor generic"
    )
    if response.status_code < 400:
        return None
    if response.status_code == 401 and not response.content:
        assert response.headers.get("www-authenticate"), "a bare 401 must carry the challenge"
        return None
    payload = json.loads(response.content)
    assert isinstance(payload, dict), response.content
    assert isinstance(payload.get("error"), dict), response.content
    assert isinstance(payload["error"].get("code"), str), response.content
    assert payload["error"]["code"], response.content
    assert isinstance(payload["error"].get("message"), str), response.content
    return None


def _fuzz(spec: str, operation: Any, seeded: tuple[FakeKeyVault, dict[str, str], dict[str, list[str]]]) -> int:
    """Run ``EXAMPLES`` generated cases of one operation against the fake's ASGI app; the number of requests sent."""
    fake, tokens, known = seeded
    app = fake.asgi_app()
    cases = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )
    sent_count = 0

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize="KVCONFIG_FUZZ_EXAMPLES" not in os.environ,  # the suite's run is the same every time
        phases=[Phase.generate],  # a failure reports its curl; shrinking a schemathesis case takes minutes
        suppress_health_check=list(HealthCheck),
    )
    @given(
        case=cases,
        host=st.sampled_from(HOSTS[spec]),
        aim=st.booleans(),
        pick=st.integers(0, 2**16),
        keep_api_version=st.integers(0, 9),
    )
    def run(case: Any, host: str, aim: bool, pick: int, keep_api_version: int) -> None:
        nonlocal sent_count
        if keep_api_version:  # mostly a version the fake knows, so the request reaches the operation
            case.query = {**(case.query or {}), "api-version": API_VERSION}
        if aim and case.path_parameters:
            case.path_parameters = {
                name: known[name][pick % len(known[name])] if name in known else value
                for name, value in case.path_parameters.items()
            }
        fake.unhandled_errors.clear()
        headers = {"Authorization": f"Bearer {tokens[host]}"}
        # Always with `app`: the requests (and ignored_auth's probes, through transport_kwargs) go to the ASGI app in
        # this process, never to a network.
        sent = {"app": app, "base_url": f"https://{host}"}
        response = case.call(headers=headers, **sent)
        sent_count += 1
        case.validate_response(
            response, checks=CHECKS, additional_checks=[_check_answer], headers=headers, transport_kwargs=sent
        )
        assert fake.unhandled_errors.count == 0, repr(fake.unhandled_errors)

    run()
    return sent_count


@pytest.mark.parametrize(("spec", "operation"), _operations())
def test_generated_requests_from_the_rest_description_never_reach_a_server_error(spec: str, operation: Any) -> None:
    assert _fuzz(spec, operation, _fake_for(spec)) >= EXAMPLES


def test_the_fuzz_sees_an_operation_that_answers_500() -> None:
    # The harness is not vacuous: an operation whose handler raises (the router's 500 envelope) fails the run.
    fake, tokens, known = _seeded_fake()
    (get_secrets,) = [operation for operation in _operations() if operation.id == "secrets:GET /secrets"]
    for index, route in enumerate(fake.routes.routes):
        if route.operation == "GetSecrets":

            def broken(_ctx: object) -> object:
                raise KeyError("broken")

            fake.routes.routes[index] = dataclasses.replace(route, handler=broken)
    with pytest.raises(FailureGroup) as failed:
        _fuzz("secrets.json", get_secrets.values[1], (fake, tokens, known))
    assert any(isinstance(failure, ServerError) for failure in failed.value.exceptions)
    assert fake.unhandled_errors.count >= 1
