"""How SDK and transport errors map to App Service's status vocabulary (the details never quote values)."""

from __future__ import annotations

import asyncio

import pytest
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceRequestTimeoutError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)
from azure.identity import CredentialUnavailableError

from kvconfig import parse_reference
from kvconfig.resolve._status import classify

LATEST = parse_reference("@Microsoft.KeyVault(VaultName=contoso;SecretName=db)")
PINNED = parse_reference(
    "@Microsoft.KeyVault(VaultName=contoso;SecretName=db;SecretVersion=0123456789abcdef0123456789abcdef)"
)


class _Response:
    """Just enough of an HTTP response for azure-core's error classes."""

    def __init__(self, status: int, body: str = "") -> None:
        self.status_code = status
        self.reason = "Reason"
        self.headers: dict[str, str] = {}
        self.request = None
        self._body = body.encode()

    def text(self, encoding: str | None = None) -> str:
        return self._body.decode()

    def body(self) -> bytes:
        return self._body


def _http(status: int, code: str = "Err", inner: str | None = None) -> HttpResponseError:
    inner_part = f', "innererror": {{"code": "{inner}"}}' if inner else ""
    body = f'{{"error": {{"code": "{code}", "message": "msg"{inner_part}}}}}'
    return HttpResponseError(response=_Response(status, body))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("error", "reference", "status"),
    [
        (ResourceNotFoundError("gone"), LATEST, "SecretNotFound"),
        (ResourceNotFoundError("gone"), PINNED, "SecretVersionNotFound"),
        (ClientAuthenticationError("401"), LATEST, "AccessToKeyVaultDenied"),
        (CredentialUnavailableError("no identity"), LATEST, "AccessToKeyVaultDenied"),
        (_http(403, "Forbidden", "SecretDisabled"), LATEST, "SecretDisabled"),
        (_http(403, "Forbidden", "ForbiddenByPolicy"), LATEST, "AccessToKeyVaultDenied"),
        (_http(429, "Throttled"), LATEST, "FetchTimedOut"),
        (_http(503, "ServiceUnavailable"), LATEST, "FetchTimedOut"),
        (_http(400, "BadParameter"), LATEST, "OtherReasons"),
        (ServiceRequestError("Cannot connect to host x:443 [Name or service not known]"), LATEST, "VaultNotFound"),
        (ServiceRequestError("[Errno -3] Temporary failure in name resolution"), LATEST, "VaultNotFound"),
        (ServiceRequestTimeoutError("Connection timed out"), LATEST, "FetchTimedOut"),
        (ServiceRequestError("Connection refused"), LATEST, "OtherReasons"),
        (ServiceResponseTimeoutError("read timed out"), LATEST, "FetchTimedOut"),
        (ServiceResponseError("Connection aborted"), LATEST, "OtherReasons"),
        (asyncio.TimeoutError(), LATEST, "FetchTimedOut"),
        (RuntimeError("boom"), LATEST, "OtherReasons"),
    ],
)
def test_errors_map_to_app_service_statuses(error: BaseException, reference: object, status: str) -> None:
    found, detail = classify(error, reference)  # type: ignore[arg-type]

    assert found == status
    assert detail
