"""The shape every Key Vault error answer shares: HTTP status, error code, optional inner code, message."""

from __future__ import annotations

from typing import TypeVar

__all__ = ["HELP_LINK", "Error", "ServiceErrorBase"]

HELP_LINK = "For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"

Error = TypeVar("Error", bound="ServiceErrorBase")


class ServiceErrorBase(Exception):
    """An error answer of the service: HTTP status, error code, optional inner error code, message.

    The catalogue of answers is split by wing into mixins; :class:`ServiceError` (the package's) joins them.
    """

    def __init__(
        self, status: int, code: str, message: str, *, inner: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.inner = inner
        self.headers = headers or {}

    def body(self) -> dict[str, object]:
        error: dict[str, object] = {"code": self.code, "message": self.message}
        if self.inner:
            error["innererror"] = {"code": self.inner}
        return {"error": error}

    def __repr__(self) -> str:
        return f"ServiceError({self.status}, {self.code!r}, inner={self.inner!r})"
