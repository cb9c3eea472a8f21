"""What both fakes (``FakeKeyVault``, ``FakeAppConfiguration``) offer a test in-process: credentials from their token
authority, the azure-core transports, and ``handle()``, one request given as plain values.

A mixin: its methods take ``self`` as :class:`_InProcess`, the little a fake must have for them (its token authority,
how it names an identity, and the :class:`~kvconfig.fake.serve.host.Dispatcher` surface the transports use).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from kvconfig.fake.control.tokens import FakeAsyncCredential, FakeCredential, TokenAuthority
from kvconfig.fake.core.identity import Identity
from kvconfig.fake.core.wire import FakeRequest, FakeResponse
from kvconfig.fake.serve.host import Dispatcher
from kvconfig.fake.serve.transport import FakeAsyncTransport, FakeTransport

__all__ = ["InProcessFace"]


class _InProcess(Dispatcher, Protocol):
    @property
    def tokens(self) -> TokenAuthority: ...

    def identity_of(self, identity: str | Identity | None) -> Identity: ...


class InProcessFace:
    """Credentials, transports and ``handle()`` for a fake that has ``tokens``, ``identity_of`` and ``dispatch``."""

    def credential(
        self: _InProcess,
        identity: str | Identity | None = None,
        *,
        lifetime: float = 3600.0,
        additionally_allowed_tenants: Sequence[str] = ("*",),
    ) -> FakeCredential:
        """A sync token credential whose tokens name ``identity`` (default: ``test-user``, of the fake's tenant).

        A client asking for a tenant (the Key Vault clients ask for the vault's) gets a token of that tenant when
        ``additionally_allowed_tenants`` allows it (any, by default), else ``ClientAuthenticationError``.
        """
        return FakeCredential(
            self.tokens,
            self.identity_of(identity),
            lifetime=lifetime,
            additionally_allowed_tenants=additionally_allowed_tenants,
        )

    def async_credential(
        self: _InProcess,
        identity: str | Identity | None = None,
        *,
        lifetime: float = 3600.0,
        additionally_allowed_tenants: Sequence[str] = ("*",),
    ) -> FakeAsyncCredential:
        """The async twin of :meth:`credential`."""
        return FakeAsyncCredential(
            self.tokens,
            self.identity_of(identity),
            lifetime=lifetime,
            additionally_allowed_tenants=additionally_allowed_tenants,
        )

    def transport(self: _InProcess) -> FakeTransport:
        """An azure-core ``HttpTransport`` serving this fake in-process."""
        return FakeTransport(self)

    def async_transport(self: _InProcess) -> FakeAsyncTransport:
        """An azure-core ``AsyncHttpTransport`` serving this fake in-process."""
        return FakeAsyncTransport(self)

    def handle(
        self: _InProcess, method: str, url: str, headers: Mapping[str, str] | None = None, body: bytes = b""
    ) -> FakeResponse:
        """Serve one request and return the response (connection faults raise ``ConnectionFault``)."""
        outcome = self.dispatch(FakeRequest(method, url, dict(headers or {}), body))
        if outcome.fault is not None:
            raise outcome.fault
        assert outcome.response is not None
        return outcome.response
