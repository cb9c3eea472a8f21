"""azure-core transports that serve requests from the fake in-process: the seam between the official SDK clients
and the fake. Production code passes nothing; tests pass ``transport=fake.transport()`` and nothing else changes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator, MutableMapping
from typing import Any

from azure.core.exceptions import (
    ServiceRequestError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)
from azure.core.pipeline.transport import AsyncHttpTransport, HttpTransport
from azure.core.rest._http_response_impl import HttpResponseImpl
from azure.core.rest._http_response_impl_async import AsyncHttpResponseImpl
from azure.core.utils import CaseInsensitiveDict

from kvconfig.errors import FakeVaultNotImplementedError
from kvconfig.fake.core.router import NOT_IMPLEMENTED_HEADER, Outcome
from kvconfig.fake.core.wire import ConnectionFault, FakeRequest, FakeResponse
from kvconfig.fake.serve.host import Dispatcher


def to_fake_request(request: Any) -> FakeRequest:
    """Read an azure-core request (``azure.core.rest.HttpRequest`` or the legacy transport request)."""
    body = getattr(request, "content", None)
    if body is None:
        body = getattr(request, "body", None)
    if body is None:
        data = b""
    elif isinstance(body, bytes):
        data = body
    elif isinstance(body, str):
        data = body.encode("utf-8")
    else:
        raise TypeError(f"The kvconfig fake cannot read a request body of type {type(body).__name__}.")
    return FakeRequest(request.method, request.url, _plain_headers(request.headers), data)


def _plain_headers(headers: Any) -> dict[str, str]:
    # azure-core's CaseInsensitiveDict keeps {lower-case name: (name, value)}; copying that store directly is a
    # third of the cost of dict(headers), which goes through the generic Mapping protocol.
    store = getattr(headers, "_store", None) if type(headers) is CaseInsensitiveDict else None
    if isinstance(store, dict):
        return dict(store.values())
    return dict(headers)


def _raise_connection_fault(fault: ConnectionFault) -> None:
    if fault.kind == "timeout":
        raise ServiceResponseTimeoutError(str(fault), error=fault)
    if fault.kind == "drop":
        raise ServiceResponseError(str(fault), error=fault)
    raise ServiceRequestError(str(fault), error=fault)


def _check_not_implemented(request: FakeRequest, response: FakeResponse) -> None:
    if NOT_IMPLEMENTED_HEADER in response.headers:
        path = request.parts[2]
        raise FakeVaultNotImplementedError(request.method.upper(), path)


class _Internal:
    """Stands in for a library response object: the azure-core response classes close it."""

    def __init__(self, response: FakeResponse) -> None:
        self.response = response

    def close(self) -> None:
        pass


class _AsyncInternal(_Internal):
    async def close(self) -> None:  # type: ignore[override]
        pass


def _headers(response: FakeResponse) -> MutableMapping[str, str]:
    return CaseInsensitiveDict(response.headers)


class _FakeHttpResponse(HttpResponseImpl):
    def __init__(self, request: Any, response: FakeResponse) -> None:
        headers = _headers(response)

        def _no_stream(**_: Any) -> Iterator[bytes]:
            yield response.body

        super().__init__(
            request=request,
            internal_response=_Internal(response),
            status_code=response.status,
            reason=response.reason,
            content_type=headers.get("Content-Type"),
            headers=headers,
            stream_download_generator=_no_stream,
        )
        self._content = response.body


class _FakeAsyncHttpResponse(AsyncHttpResponseImpl):
    def __init__(self, request: Any, response: FakeResponse) -> None:
        headers = _headers(response)

        async def _no_stream(**_: Any) -> AsyncIterator[bytes]:
            yield response.body

        super().__init__(
            request=request,
            internal_response=_AsyncInternal(response),
            status_code=response.status,
            reason=response.reason,
            content_type=headers.get("Content-Type"),
            headers=headers,
            stream_download_generator=_no_stream,
        )
        self._content = response.body


class FakeTransport(HttpTransport):  # type: ignore[type-arg]
    """Sync azure-core transport over a :class:`~kvconfig.fake.FakeKeyVault`.

    ``latency`` (from the fake) is spent with ``time.sleep``. The SDK's own waits (retry back-off, ``Retry-After``,
    poller intervals) cost no wall time: they move the fake's clock when it is a ManualClock.
    """

    def __init__(self, fake: Dispatcher) -> None:
        self._fake = fake

    def send(self, request: Any, **kwargs: Any) -> _FakeHttpResponse:
        fake_request = to_fake_request(request)
        outcome: Outcome = self._fake.dispatch(fake_request)
        wait = self._fake.latency + outcome.delay
        if wait > 0:
            time.sleep(wait)
        if outcome.fault is not None:
            _raise_connection_fault(outcome.fault)
        assert outcome.response is not None
        _check_not_implemented(fake_request, outcome.response)
        return _FakeHttpResponse(request, outcome.response)

    def sleep(self, duration: float) -> None:
        self._fake.pass_time(duration)

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> FakeTransport:
        return self

    def __exit__(self, *args: object) -> None:
        pass

    def __repr__(self) -> str:
        return f"FakeTransport({self._fake!r})"


class FakeAsyncTransport(AsyncHttpTransport):  # type: ignore[type-arg]
    """Async azure-core transport over a :class:`~kvconfig.fake.FakeKeyVault` (latency via ``asyncio.sleep``)."""

    def __init__(self, fake: Dispatcher) -> None:
        self._fake = fake

    async def send(self, request: Any, **kwargs: Any) -> _FakeAsyncHttpResponse:
        fake_request = to_fake_request(request)
        outcome: Outcome = self._fake.dispatch(fake_request)
        wait = self._fake.latency + outcome.delay
        if wait > 0:
            await asyncio.sleep(wait)
        if outcome.fault is not None:
            _raise_connection_fault(outcome.fault)
        assert outcome.response is not None
        _check_not_implemented(fake_request, outcome.response)
        return _FakeAsyncHttpResponse(request, outcome.response)

    async def sleep(self, duration: float) -> None:
        self._fake.pass_time(duration)
        # No real wait, but a turn of the event loop: other tasks (a test cancelling the operation this poller
        # watches) run between polls, as they would while the real service is awaited.
        await asyncio.sleep(0)

    async def open(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def __aenter__(self) -> FakeAsyncTransport:
        return self

    async def __aexit__(self, *args: object) -> None:
        pass

    def __repr__(self) -> str:
        return f"FakeAsyncTransport({self._fake!r})"
