"""Credential adapters for the resolver's async SDK clients.

A sync ``TokenCredential`` is adapted to the async clients: each token call runs in a daemon thread of its own, so a
call that blocks (a metadata endpoint that never answers) holds up neither ``close()`` nor the interpreter's exit
(a thread pool's workers are joined at exit); it ends when the call returns. Token calls are few (the SDK caches
tokens), so a thread per call costs nothing that matters. Each vault's
client sees the one shared credential through a wrapper that tells the vault when a token was handed out (the
resolver holds a vault's other requests back until then) and that leaves closing the shared credential to the
resolver.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import threading
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["as_async_credential", "vault_credential"]

T = TypeVar("T")


async def _in_daemon_thread(call: Callable[[], T]) -> T:
    """``call()`` in a daemon thread; awaiting it can be cancelled (the call itself runs on until it returns)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()
    context = contextvars.copy_context()

    def settle(result: Any, error: BaseException | None) -> None:
        if future.done():  # cancelled meanwhile
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def run() -> None:
        result: Any = None
        error: BaseException | None = None
        try:
            result = context.run(call)
        except BaseException as exc:  # handed to the awaiting task, which re-raises it
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop closed while the call blocked: nobody waits for it
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=run, name="kvconfig-credential", daemon=True).start()
    return await future


class _AsyncCredentialAdapter:
    """Lets a sync ``TokenCredential`` serve the async SDK clients (token calls run in a daemon thread each)."""

    def __init__(self, credential: Any) -> None:
        self._credential = credential

    async def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        return await _in_daemon_thread(lambda: self._credential.get_token(*scopes, **kwargs))

    async def close(self) -> None:
        pass

    async def __aenter__(self) -> _AsyncCredentialAdapter:
        return self

    async def __aexit__(self, *args: object) -> None:
        pass


class _AsyncCredentialInfoAdapter(_AsyncCredentialAdapter):
    """The adapter for sync credentials that also offer ``get_token_info`` (the SDK prefers it)."""

    async def get_token_info(self, *scopes: str, options: Any = None) -> Any:
        return await _in_daemon_thread(lambda: self._credential.get_token_info(*scopes, options=options))


class _VaultCredential:
    """The shared credential as one vault's client sees it: tells the vault when a token was handed out."""

    def __init__(self, credential: Any, on_token: Callable[[], None]) -> None:
        self._credential = credential
        self._on_token = on_token

    async def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        token = await self._credential.get_token(*scopes, **kwargs)
        self._on_token()
        return token

    async def close(self) -> None:
        pass  # the shared credential is closed by the resolver, once

    async def __aenter__(self) -> _VaultCredential:
        return self

    async def __aexit__(self, *args: object) -> None:
        pass


class _VaultCredentialInfo(_VaultCredential):
    """The vault's view of a credential that also offers ``get_token_info`` (the SDK prefers it)."""

    async def get_token_info(self, *scopes: str, options: Any = None) -> Any:
        token = await self._credential.get_token_info(*scopes, options=options)
        self._on_token()
        return token


def as_async_credential(credential: Any) -> Any:
    """``credential`` itself if it is async, else an adapter that runs its token calls in a worker thread."""
    if inspect.iscoroutinefunction(getattr(credential, "get_token", None)):
        return credential
    adapter = _AsyncCredentialInfoAdapter if hasattr(credential, "get_token_info") else _AsyncCredentialAdapter
    return adapter(credential)


def vault_credential(credential: Any, on_token: Callable[[], None]) -> Any:
    """The shared async ``credential`` as one vault's client sees it: ``on_token()`` runs after each token."""
    wrapper = _VaultCredentialInfo if hasattr(credential, "get_token_info") else _VaultCredential
    return wrapper(credential, on_token)
