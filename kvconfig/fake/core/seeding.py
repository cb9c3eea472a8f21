"""What the seed readers share: ``SeedError``, the checks every object version gets, and running an operation's own
handler without HTTP, with the version id a seed names.

Keys and certificates are seeded through the handlers of Create Key, Import Key, Create Certificate and Import
Certificate, so a seeded object is exactly what the REST operation would have made (backing keys and secrets
included) and a bad seed is refused with the service's own message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from kvconfig.fake.core.api_versions import LATEST
from kvconfig.fake.core.errors import ServiceError
from kvconfig.fake.core.routing import OperationContext, ServiceHost
from kvconfig.fake.core.state import Vault
from kvconfig.fake.core.wire import FakeRequest

__all__ = [
    "OBJECT_NAME",
    "SeedError",
    "check_times_and_flags",
    "check_version_id",
    "run_operation",
]

OBJECT_NAME = re.compile(r"^[0-9a-zA-Z-]{1,127}$")
_VERSION_ID = re.compile(r"^[0-9a-fA-F]{32}$")


class SeedError(ValueError):
    """A seed file or mapping does not follow the documented format."""


def run_operation(
    fake: ServiceHost,
    vault: Vault,
    operation: str,
    path: str,
    params: Mapping[str, str],
    body: Mapping[str, Any],
    *,
    now: int,
    where: str,
    version_id: str | None = None,
) -> Any:
    """Call the handler of ``operation`` (``"CreateKey"``) as the router would, with no caller and no audit record;
    the version it makes gets ``version_id`` when given.

    A ``ServiceError`` becomes a :class:`SeedError` naming ``where`` and quoting the service's message.
    """
    route = next(route for route in fake.routes.routes if route.operation == operation)
    assert route.handler is not None, operation
    request = FakeRequest(
        route.method,
        f"{vault.url}{path}?api-version={LATEST}",
        {"Content-Type": "application/json"},
        json.dumps(body).encode("utf-8"),
    )
    ctx = OperationContext(
        service=fake,
        vault=vault,
        request=request,
        route=route,
        params=dict(params),
        api_version=LATEST,
        now=now,
        identity=None,
        version_id=version_id,
    )
    try:
        return route.handler(ctx)
    except ServiceError as exc:
        raise SeedError(f"Cannot seed {where}: {exc.message}") from exc


def check_version_id(where: str, version_id: object) -> str | None:
    if version_id is None:
        return None
    if not (isinstance(version_id, str) and _VERSION_ID.match(version_id)):
        raise SeedError(f"'version' of {where} must be 32 hexadecimal characters, not {version_id!r}.")
    return version_id.lower()


def check_times_and_flags(where: str, spec: Mapping[str, Any], *, times: tuple[str, ...]) -> None:
    """``enabled`` is a boolean, ``tags`` map strings to strings, times are whole epoch seconds."""
    if "enabled" in spec and not isinstance(spec["enabled"], bool):
        raise SeedError(f"'enabled' of {where} must be true or false.")
    for key in times:
        value = spec.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise SeedError(f"'{key}' of {where} must be whole seconds since the Unix epoch.")
    tags = spec.get("tags")
    if tags is not None and not (
        isinstance(tags, Mapping) and all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items())
    ):
        raise SeedError(f"'tags' of {where} must map strings to strings.")
