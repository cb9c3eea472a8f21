"""App Configuration's errors: problem details (RFC 7807, ``application/problem+json``) with the service's types."""

from __future__ import annotations

import json

from kvconfig.fake.core.wire import FakeResponse

__all__ = ["AppConfigError"]

_PROBLEM = "application/problem+json; charset=utf-8"


class AppConfigError(Exception):
    """An error response of the fake store: raised by the operations, turned into a response by the router."""

    def __init__(
        self,
        status: int,
        kind: str | None,
        title: str,
        *,
        detail: str | None = None,
        name: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(title)
        self.status = status
        self.kind = kind
        self.title = title
        self.detail = detail
        self.name = name
        self.headers = dict(headers or {})

    def to_response(self) -> FakeResponse:
        headers = {**self.headers}
        if self.kind is None:  # statuses the service answers with headers only (304, 401, 412)
            return FakeResponse(self.status, headers, b"")
        body: dict[str, object] = {"type": f"https://azconfig.io/errors/{self.kind}", "title": self.title}
        if self.name is not None:
            body["name"] = self.name
        if self.detail is not None:
            body["detail"] = self.detail
        body["status"] = self.status
        headers["Content-Type"] = _PROBLEM
        return FakeResponse(self.status, headers, json.dumps(body).encode())

    # -- the catalogue ---------------------------------------------------------------------------------------------

    @classmethod
    def invalid_argument(cls, name: str, detail: str) -> AppConfigError:
        return cls(400, "invalid-argument", f"Invalid request parameter '{name}'", name=name, detail=detail)

    @classmethod
    def missing_api_version(cls) -> AppConfigError:
        return cls(
            400,
            "invalid-argument",
            "API version is not specified",
            name="api-version",
            detail="An API version is required, but was not specified.",
        )

    @classmethod
    def unauthorized(cls, reason: str) -> AppConfigError:
        challenge = f'HMAC-SHA256, Bearer error="invalid_token", error_description="{reason}"'
        return cls(401, None, "Unauthorized", detail=reason, headers={"WWW-Authenticate": challenge})

    @classmethod
    def forbidden(cls, detail: str) -> AppConfigError:
        return cls(403, None, "Forbidden", detail=detail)

    @classmethod
    def not_found(cls) -> AppConfigError:
        # [R] no body: python azure-appconfiguration session record test_get_non_existing_configuration_setting.
        return cls(404, None, "Not Found")

    @classmethod
    def not_modified(cls, headers: dict[str, str]) -> AppConfigError:
        return cls(304, None, "Not Modified", headers=headers)

    @classmethod
    def precondition_failed(cls) -> AppConfigError:
        # [R] no body: python azure-appconfiguration session record test_set_configuration_setting_wrong_etag.
        return cls(412, None, "Precondition Failed")

    @classmethod
    def read_only(cls, key: str) -> AppConfigError:
        return cls(
            409,
            "key-locked",
            # [R] "Modifing" is the service's own spelling: azure-sdk-assets, python azure-appconfiguration
            # test_set_read_only (2026) and azure-sdk-for-js nock recordings (2020) alike.
            f"Modifing key '{key}' is not allowed",
            name=key,
            detail="The key is read-only. To allow modification unlock it first.",
        )

    @classmethod
    def too_large(cls, detail: str) -> AppConfigError:
        return cls(413, "kv-too-large", "Request Entity Too Large", detail=detail)

    @classmethod
    def unsupported_media_type(cls, content_type: str | None) -> AppConfigError:
        return cls(
            415,
            "unsupported-media-type",
            "Unsupported Media Type",
            detail=f"The request's Content-Type {content_type!r} is not supported here.",
        )

    @classmethod
    def not_implemented(cls, method: str, path: str) -> AppConfigError:
        return cls(
            501,
            "not-implemented",
            "Not implemented by the kvconfig fake",
            detail=f"The kvconfig fake App Configuration store does not implement {method} {path}.",
        )
