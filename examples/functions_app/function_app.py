"""An Azure Functions app (Python v2 programming model) whose settings live in ``local.settings.json`` as Key Vault
references, resolved by kvconfig as the Functions host resolves them in Azure.

With Core Tools::

    kvconfig run --functions-settings local.settings.json -- func start

Without the Functions host (what CI does, against the fake vault next to this file)::

    kvconfig run --fake-vault examples/functions_app/vault.json \
        --functions-settings examples/functions_app/local.settings.json -- python examples/functions_app/function_app.py
"""

from __future__ import annotations

import os


def settings_summary() -> str:
    """What the app was given, by name and length only: a secret is never printed."""
    database = os.environ["DB_CONNECTION_STRING"]
    reporting = os.environ["ConnectionStrings:Reporting"]  # noqa: SIM112 - the name Core Tools gives it
    api_key = os.environ["API_KEY"]
    for value in (database, reporting, api_key):
        if value.startswith("@Microsoft.KeyVault("):
            raise SystemExit("a Key Vault reference reached the app unresolved")
    return (
        f"runtime={os.environ['FUNCTIONS_WORKER_RUNTIME']} DB_CONNECTION_STRING={len(database)} chars "
        f"ConnectionStrings:Reporting={len(reporting)} chars API_KEY={len(api_key)} chars"
    )


try:  # the Functions host imports this module; azure-functions is only installed where it runs
    import azure.functions as func
except ImportError:  # pragma: no cover - depends on the environment
    func = None

if func is not None:  # pragma: no cover - needs the Functions host
    app = func.FunctionApp()

    @app.route(route="settings", auth_level=func.AuthLevel.FUNCTION)
    def settings(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse(settings_summary())


if __name__ == "__main__":
    print(settings_summary())
