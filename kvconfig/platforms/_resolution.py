"""Reading a platform's references with the identity each names: one :class:`SecretResolver` per identity.

A Container App may read one secret with its system-assigned identity and another with a user-assigned one; each
identity gets its own resolver (and credential), every failure of every identity is collected, and one
:class:`~kvconfig.ResolutionError` lists them all, each with the env entries that use the secret.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

from kvconfig.errors import ResolutionError, ResolutionFailure
from kvconfig.platforms._containerapps import ContainerApp
from kvconfig.platforms._identity import ManagedIdentity
from kvconfig.resolve import ReferenceStatus, SecretResolver

__all__ = ["OpenResolver", "check_containerapp", "opener", "resolve_containerapp", "resolve_containerapp_secrets"]

#: Opens the resolver that reads with an identity (``None``: the system-assigned one, or the default credential).
OpenResolver = Callable[[ManagedIdentity | None], AbstractContextManager[SecretResolver]]


def opener(**resolver_options: Any) -> OpenResolver:
    """An :data:`OpenResolver` making ``SecretResolver(**resolver_options)``, with the identity's credential for a
    user-assigned identity (``resolver_options["credential"]``, or ``DefaultAzureCredential``, for the system one)."""

    @contextlib.contextmanager
    def open_resolver(identity: ManagedIdentity | None) -> Iterator[SecretResolver]:
        options = dict(resolver_options)
        credential = identity.credential() if identity is not None else options.pop("credential", None)
        options.pop("credential", None)
        try:
            with SecretResolver(credential, **options) as resolver:
                yield resolver
        finally:
            if identity is not None:
                credential.close()

    return open_resolver


def resolve_containerapp(
    app: ContainerApp, container: str | None = None, *, open_resolver: OpenResolver | None = None
) -> dict[str, str]:
    """The environment of one container (the app's only one when ``container`` is ``None``), as the platform gives
    it: every secret of the app is read first (a failing one fails the start, also when no container uses it)."""
    chosen = app.container(container)  # a wrong container name fails before any vault is read
    return app.environment(chosen, resolve_containerapp_secrets(app, open_resolver=open_resolver))


def resolve_containerapp_secrets(app: ContainerApp, *, open_resolver: OpenResolver | None = None) -> dict[str, str]:
    """Every secret of the app by name: ``value`` secrets as written, ``keyVaultUrl`` ones read from Key Vault (a
    URL without a version follows the latest). Raises one :class:`ResolutionError` listing every failure."""
    open_resolver = open_resolver or opener()
    values = {name: secret.value for name, secret in app.secrets.items() if secret.value is not None}
    failures: list[ResolutionFailure] = []
    cause: BaseException | None = None
    for identity, secrets in app.key_vault_secrets().items():
        settings = {secret.name: secret.reference for secret in secrets}
        origins = {secret.name: secret.origin for secret in secrets}
        with open_resolver(identity) as resolver:
            report = resolver.resolve_report(settings, origins=origins)
        values.update({name: str(value) for name, value in report.values.items()})
        failures.extend(_with_users(app, failure, identity) for failure in report.failures)
        cause = cause or report.cause
    if failures:
        raise ResolutionError(failures) from cause
    return values


def check_containerapp(app: ContainerApp, *, open_resolver: OpenResolver | None = None) -> list[ReferenceStatus]:
    """The status of every ``keyVaultUrl`` secret of the app (never a value), read with its own identity."""
    open_resolver = open_resolver or opener()
    statuses: list[ReferenceStatus] = []
    for identity, secrets in app.key_vault_secrets().items():
        settings = {secret.name: secret.reference for secret in secrets}
        origins = {secret.name: secret.origin for secret in secrets}
        with open_resolver(identity) as resolver:
            statuses.extend(resolver.check(settings, origins=origins))
    return sorted(statuses, key=lambda status: status.setting)


def _with_users(app: ContainerApp, failure: ResolutionFailure, identity: ManagedIdentity | None) -> ResolutionFailure:
    users = app.users(failure.setting)
    used = f"used by {', '.join(users)}" if users else "used by no container, still read at start"
    who = f"identity {identity.name}" if identity is not None else "the system-assigned identity"
    detail = f"{failure.detail}; " if failure.detail else ""
    return dataclasses.replace(failure, detail=f"{detail}read with {who}; {used}")
