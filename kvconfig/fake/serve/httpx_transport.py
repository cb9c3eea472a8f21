"""httpx transports over the fake, so ``httpx.Client(transport=...)``, ``respx`` and ``httpx.MockTransport`` users
can mount it."""

from __future__ import annotations

import asyncio
import time

try:
    import httpx
except ModuleNotFoundError as exc:
    raise ModuleNotFoundError(
        "The fake's httpx transports need httpx: pip install 'kvconfig[httpx]'.", name="httpx"
    ) from exc

from kvconfig.fake.core.router import NOT_IMPLEMENTED_HEADER
from kvconfig.fake.core.wire import FakeRequest
from kvconfig.fake.serve.host import ServedService

__all__ = ["FakeAsyncHttpxTransport", "FakeHttpxTransport"]


def _serve(fake: ServedService, request: httpx.Request, body: bytes) -> tuple[float, httpx.Response]:
    fake_request = FakeRequest(request.method, str(request.url), dict(request.headers), body)
    outcome = fake.dispatch(fake_request)
    wait = fake.latency + outcome.delay
    if outcome.fault is not None:
        kind = outcome.fault.kind
        if kind == "timeout":
            raise httpx.ReadTimeout(str(outcome.fault), request=request)
        if kind == "drop":
            raise httpx.RemoteProtocolError(str(outcome.fault), request=request)
        raise httpx.ConnectError(str(outcome.fault), request=request)
    assert outcome.response is not None
    headers = {k: v for k, v in outcome.response.headers.items() if k != NOT_IMPLEMENTED_HEADER}
    return wait, httpx.Response(
        outcome.response.status, headers=headers, content=outcome.response.body, request=request
    )


class FakeHttpxTransport(httpx.BaseTransport):
    """A sync httpx transport serving the fake (also usable as ``respx``'s side effect)."""

    def __init__(self, fake: ServedService) -> None:
        self._fake = fake

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        wait, response = _serve(self._fake, request, request.read())
        if wait > 0:
            time.sleep(wait)
        return response

    def __call__(self, request: httpx.Request) -> httpx.Response:
        return self.handle_request(request)


class FakeAsyncHttpxTransport(httpx.AsyncBaseTransport):
    """An async httpx transport serving the fake."""

    def __init__(self, fake: ServedService) -> None:
        self._fake = fake

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        wait, response = _serve(self._fake, request, await request.aread())
        if wait > 0:
            await asyncio.sleep(wait)
        return response
