"""No 500s against the service's own descriptions: schemathesis over the Key Vault data-plane OpenAPI (2025-07-01).

Every operation of ``secrets.json``, ``keys.json``, ``certificates.json`` (on a vault) and ``rbac.json``,
``settings.json``, ``backuprestore.json`` (on a Managed HSM pool; ``keys.json`` on both) gets requests that
schemathesis generates from the operation's parameters and body schema, valid ones and invalid ones, sent in-process
to the fake's ASGI app (``FakeKeyVault().asgi_app()``) through schemathesis's ASGI transport, with a valid bearer
token; nine in ten carry an api-version the fake knows. Half the cases aim their path parameters at objects a fresh
fake holds (a secret, keys, an issued and a pending certificate, an issuer, a setting, roles) so valid requests reach
the operation rather than its 404.

The checks: schemathesis's ``not_a_server_error`` (no 5xx, ever), ``response_schema_conformance`` (an answer has the
documented schema; errors are ``KeyVaultError``) and ``content_type_conformance`` (where there is a body: a 204 has
none); ours: every error is the service's envelope (``{"error": {"code", "message"}}``, or Managed HSM's bare 401
challenge), every status is one the operation documents or one of the service's generic ones, a request the fake
accepts is refused without a token and with another issuer's token (schemathesis's ``ignored_auth`` probes no OAuth2
scheme), and the fake counts no unhandled exception. Left out, because the descriptions are incomplete rather than
the fake wrong: ``status_code_conformance`` (every operation documents ``default``, so it passes anything; ours is
stricter), ``negative_data_rejection`` (the service ignores unknown body fields and takes any string for an
extensible enum), ``positive_data_acceptance`` (a valid request for an object that does not exist is a 404),
``response_headers_conformance`` (Swagger 2.0 response headers are never required), ``unsupported_method`` (it
needs schemathesis's coverage phase) and the stateful checks (the descriptions declare no links).

Bounded: ``EXAMPLES`` cases per operation (984 generated requests and 310 token probes, about 25 s on one core).
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
    response_schema_conformance,
)

from kvconfig.fake import FakeKeyVault, ManualClock  # noqa: E402

from .support import fake_with_vault_and_pool  # noqa: E402

SPECS = Path(__file__).parent / "openapi" / "2025-07-01"
# The RSA key of the service's ImportKey example (spec_examples/), imported into each fake rather than generated.
RSA_IMPORT = json.loads((Path(__file__).parent / "spec_examples" / "keys" / "ImportKey-example.json").read_text())[
    "parameters"
]["parameters"]
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
    "DataAction": "built-in role definitions grant wildcards such as .../roleAssignments/*",
}
# Tokens from another fake: signed by an issuer the fuzzed fakes do not know.
_FOREIGN = FakeKeyVault().credential(lifetime=10**8)
FOREIGN_TOKENS = {
    VAULT: _FOREIGN.get_token("https://vault.azure.net/.default").token,
    HSM: _FOREIGN.get_token("https://managedhsm.azure.net/.default").token,
}
CHECKS = [not_a_server_error, response_schema_conformance]


def _seeded_fake() -> tuple[FakeKeyVault, dict[str, str], dict[str, list[str]]]:
    """A fake with one vault and one pool holding a few objects; its tokens; the path values that name them."""
    clock = ManualClock(1_750_000_000)
    fake, tokens = fake_with_vault_and_pool(VAULT, HSM, clock)

    def send(host: str, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {tokens[host]}", "Content-Type": "application/json"}
        response = fake.handle(method, f"https://{host}{path}?api-version={API_VERSION}", headers, json.dumps(body))
        assert response.status < 300, (path, response.status)
        payload: dict[str, Any] = response.json()
        return payload

    def version(payload: dict[str, Any]) -> str:
        return str(payload.get("id") or payload["key"]["kid"]).rsplit("/", 1)[1]

    versions = [version(send(VAULT, "PUT", "/secrets/a", {"value": "v"}))]
    versions.append(version(send(VAULT, "POST", "/keys/a/create", {"kty": "EC"})))
    versions.append(version(send(VAULT, "PUT", "/keys/r", RSA_IMPORT)))  # imported: no RSA key generation per fake
    versions.append(version(send(HSM, "POST", "/keys/a/create", {"kty": "oct-HSM", "key_size": 256})))
    x509 = {"subject": "CN=c"}
    ec = {"kty": "EC", "crv": "P-256"}
    send(
        VAULT,
        "POST",
        "/certificates/c/create",
        {"policy": {"key_props": ec, "x509_props": x509, "issuer": {"name": "Self"}}},
    )
    # "p" stays pending (an issuer the fake cannot reach), for the pending operation's merge, cancel and delete.
    send(
        VAULT,
        "POST",
        "/certificates/p/create",
        {"policy": {"key_props": ec, "x509_props": x509, "issuer": {"name": "Unknown"}}},
    )
    clock.advance(seconds=30)  # "c" is issued on its next poll
    assert send(VAULT, "GET", "/certificates/c/pending", {})["status"] == "completed"
    certificate_version = version(send(VAULT, "GET", "/certificates/c", {}))
    send(VAULT, "PUT", "/certificates/issuers/i1", {"provider": "Test"})
    send(VAULT, "PUT", "/certificates/contacts", {"contacts": [{"email": "a@b.c"}]})
    definitions = send(HSM, "GET", "/providers/Microsoft.Authorization/roleDefinitions", {})["value"]
    known = {
        "secret-name": ["a", "c"],
        "key-name": ["a", "r", "c"],
        "keyName": ["a"],
        "certificate-name": ["c", "p"],
        "issuer-name": ["i1"],
        "secret-version": [*versions, ""],
        "key-version": [*versions, ""],
        "certificate-version": [certificate_version, ""],
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


def _content_type_of_a_body(ctx: CheckContext, response: Any, case: Any) -> bool | None:
    """``content_type_conformance`` where there is a body: a 204 (purges) has neither body nor Content-Type."""
    if not response.content:
        return None
    result: bool | None = content_type_conformance(ctx, response, case)
    return result


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
        picks=st.lists(st.integers(0, 2**8), min_size=3, max_size=3),
        keep_api_version=st.integers(0, 9),
    )
    def run(case: Any, host: str, aim: bool, picks: list[int], keep_api_version: int) -> None:
        nonlocal sent_count
        if keep_api_version:  # mostly a version the fake knows, so the request reaches the operation
            case.query = {**(case.query or {}), "api-version": API_VERSION}
        if aim and case.path_parameters:
            case.path_parameters = {
                name: known[name][pick % len(known[name])] if name in known else value
                for (name, value), pick in zip(case.path_parameters.items(), picks, strict=False)
            }
        fake.unhandled_errors.clear()
        headers = {"Authorization": f"Bearer {tokens[host]}"}
        # Always with `app`: the requests (and ignored_auth's probes, through transport_kwargs) go to the ASGI app in
        # this process, never to a network.
        sent = {"app": app, "base_url": f"https://{host}"}
        response = case.call(headers=headers, **sent)
        sent_count += 1
        case.validate_response(
            response,
            checks=CHECKS,
            additional_checks=[_content_type_of_a_body, _check_answer],
            headers=headers,
            transport_kwargs=sent,
        )
        if 200 <= response.status_code < 300:
            # What ignored_auth checks for the schemes it knows (not OAuth2, so it probes nothing here): the same
            # request without a token, or with a token another fake's issuer signed, is refused. (An opaque string
            # is no probe: the fake takes a bearer that is no JWT as a test double's anonymous caller.)
            for refused_headers in ({}, {"Authorization": f"Bearer {FOREIGN_TOKENS[host]}"}):
                refused = case.call(headers=refused_headers, **sent)
                sent_count += 1
                assert refused.status_code == 401, (case.method, case.formatted_path, refused.status_code)
        assert fake.unhandled_errors.count == 0, repr(fake.unhandled_errors)

    run()
    return sent_count


@pytest.mark.parametrize(("spec", "operation"), _operations())
def test_generated_requests_from_the_rest_description_never_reach_a_server_error(spec: str, operation: Any) -> None:
    # A fresh fake per operation: a delete, purge or role assignment fuzzed in one operation must not take away the
    # seeded objects (or turn on access checks) for the next.
    assert _fuzz(spec, operation, _seeded_fake()) >= EXAMPLES


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
