"""The platforms' own files as ``run`` and ``check`` sources: ``--functions-settings``, ``--appsettings`` (with
``--keyvault-reference-identity``) and ``--containerapp`` (with ``--container``). See docs/platforms/.

Names from a platform file reach the child's environment exactly as the platform names them
(``ConnectionStrings:Db``, ``WEBSITE_RUN_FROM_PACKAGE``), not rewritten as ``--config`` keys are.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click

from kvconfig.cli._common import Loaded, _cli_logging, load, note, open_resolver
from kvconfig.platforms import (
    AppServiceSettings,
    ContainerApp,
    ManagedIdentity,
    check_containerapp,
    from_appsettings,
    from_local_settings,
    read_containerapp,
    resolve_containerapp_secrets,
)
from kvconfig.resolve import FetchProgress, ReferenceStatus, SecretResolver
from kvconfig.sources import ConfigSource

__all__ = [
    "PlatformLoaded",
    "containerapp_environment",
    "containerapp_statuses",
    "load_with_platforms",
    "open_platform_resolver",
    "platform_options",
]

F = TypeVar("F", bound=Callable[..., Any])
_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def platform_options(func: F) -> F:
    """``--functions-settings``, ``--appsettings``, ``--keyvault-reference-identity``, ``--containerapp``,
    ``--container``."""
    options = [
        click.option(
            "--functions-settings",
            type=_FILE,
            help="An Azure Functions local.settings.json: Values by name, ConnectionStrings as ConnectionStrings:NAME "
            "(variables already in the environment win, as with Core Tools).",
        ),
        click.option(
            "--appsettings",
            type=_FILE,
            help="App Service app settings: 'az webapp config appsettings list' JSON, an ARM/Bicep appSettings "
            "array or a Microsoft.Web/sites resource, also in a .bicep file (versionless references kept 24 hours).",
        ),
        click.option(
            "--keyvault-reference-identity",
            metavar="IDENTITY",
            help="App Service's keyVaultReferenceIdentity: a user-assigned identity's resource id or client id "
            "('SystemAssigned' for the system one); overrides the file's.",
        ),
        click.option(
            "--containerapp",
            type=_FILE,
            help="A Container App definition (a .bicep file, ARM JSON or az containerapp YAML): every secret is read "
            "with its identity, and the container's env is set.",
        ),
        click.option("--container", metavar="NAME", help="With --containerapp: the container whose env to use."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@dataclass
class PlatformLoaded:
    """What a command loaded, the platform settings among it (their names kept verbatim) and the App Service rules."""

    loaded: Loaded
    verbatim: set[str] = field(default_factory=set)
    appsettings: AppServiceSettings | None = None


def check_platform_usage(params: dict[str, Any]) -> None:
    """``--containerapp`` stands alone; ``--container`` and the identity option need their file."""
    if params.get("containerapp") is not None:
        others = [
            flag
            for flag, key in (
                ("--env-file", "env_files"),
                ("--config", "config_files"),
                ("--functions-settings", "functions_settings"),
                ("--appsettings", "appsettings"),
            )
            if params.get(key)
        ]
        if others:
            raise click.UsageError(f"--containerapp gives the container's whole environment; drop {', '.join(others)}.")
    elif params.get("container") is not None:
        raise click.UsageError("--container chooses a container of --containerapp; give the app's file too.")
    if params.get("keyvault_reference_identity") is not None and params.get("appsettings") is None:
        raise click.UsageError("--keyvault-reference-identity applies to --appsettings; give the app settings too.")


def load_with_platforms(params: dict[str, Any], *, default_env: bool) -> PlatformLoaded:
    """:func:`load` plus the platform files: the Functions and App Service settings come first, so the
    environment (read as the command reads it) and ``--env-file``/``--config`` files override them."""
    check_platform_usage(params)
    platform: list[ConfigSource] = []
    appsettings = None
    if params.get("functions_settings") is not None:
        platform.append(from_local_settings(params["functions_settings"]))
    if params.get("appsettings") is not None:
        appsettings = from_appsettings(params["appsettings"], reference_identity=params["keyvault_reference_identity"])
        platform.append(appsettings.source)
    if not platform:
        return PlatformLoaded(load(params, default_env=default_env))
    if params["use_env"] is None:
        params = {**params, "use_env": default_env}  # a platform file is a file: the environment only when asked
    loaded = load(params, default_env=default_env)
    settings: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for source in platform:
        settings.update(source.settings)
        origins.update(source.origins)
    shadowed = sorted(name for name in settings if name in loaded.from_environment)
    if shadowed:
        note(f"the environment already sets {', '.join(shadowed)}: its values win over the platform file's.")
    verbatim = set(settings) - set(loaded.settings)
    loaded.settings = {**settings, **loaded.settings}
    loaded.origins = {**origins, **loaded.origins}
    return PlatformLoaded(loaded, verbatim, appsettings)


def open_platform_resolver(
    params: dict[str, Any], platform: PlatformLoaded, *, progress: FetchProgress | None = None
) -> contextlib.AbstractContextManager[SecretResolver]:
    """The command's resolver, reading with App Service's ``keyVaultReferenceIdentity`` and 24-hour TTL when the
    settings came from ``--appsettings``."""
    app = platform.appsettings
    if app is None:
        return open_resolver(params, progress=progress)
    identity = app.identity
    return open_resolver(
        params, progress=progress, credential=identity.credential if identity is not None else None, ttl=app.ttl
    )


def _read_app(params: dict[str, Any], *, choose: bool) -> ContainerApp:
    """The app, its --container checked first: a wrong (or, to run, a missing) one fails before any vault is read."""
    with _cli_logging():
        app = read_containerapp(params["containerapp"])
        if choose or params.get("container") is not None:
            app.container(params.get("container"))
    return app


def _opener(params: dict[str, Any], progress: FetchProgress | None) -> Callable[[ManagedIdentity | None], Any]:
    def open_for(identity: ManagedIdentity | None) -> contextlib.AbstractContextManager[SecretResolver]:
        return open_resolver(params, progress=progress, credential=identity.credential if identity else None)

    return open_for


def containerapp_environment(
    params: dict[str, Any], *, progress: FetchProgress | None = None
) -> tuple[dict[str, str], list[str]]:
    """The chosen container's environment, and the value of every secret of the app (to mask them)."""
    check_platform_usage(params)
    app = _read_app(params, choose=True)
    secrets = resolve_containerapp_secrets(app, open_resolver=_opener(params, progress))
    return app.environment(app.container(params.get("container")), secrets), list(secrets.values())


def containerapp_statuses(params: dict[str, Any], *, progress: FetchProgress | None = None) -> list[ReferenceStatus]:
    """The status of every ``keyVaultUrl`` secret of the app (``--container``, if given, must exist)."""
    check_platform_usage(params)
    return check_containerapp(_read_app(params, choose=False), open_resolver=_opener(params, progress))
