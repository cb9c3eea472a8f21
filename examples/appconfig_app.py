"""kvconfig + Azure App Configuration: settings loaded by the official provider, Key Vault references in the store
resolved by kvconfig (all at once, trusted hosts only, every failure reported together).

Against Azure (DefaultAzureCredential for both services)::

    APP_CONFIG_ENDPOINT=https://contoso-config.azconfig.io python examples/appconfig_app.py

Offline, against kvconfig's fake App Configuration store (seeded from examples/appconfig.json) and fake Key Vault
(seeded from examples/vault.json)::

    KVCONFIG_FAKE_SEED=examples/vault.json python examples/appconfig_app.py
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from azure.appconfiguration.provider import SettingSelector

from kvconfig import SecretResolver
from kvconfig.appconfig import load

ENDPOINT = os.environ.get("APP_CONFIG_ENDPOINT", "https://contoso-config.azconfig.io")
SECRET_KEYS = ("db:password", "api-key")
# The null label first, then "prod": a key in both takes its "prod" value.
SELECTS = [
    SettingSelector(key_filter="app:*", label_filter="\0"),
    SettingSelector(key_filter="app:*", label_filter="prod"),
]


def describe(config: Mapping[str, Any]) -> list[str]:
    lines = []
    for key in sorted(config):
        value = config[key]
        shown = f"<{len(value)} characters from Key Vault>" if key in SECRET_KEYS else value
        lines.append(f"{key} = {shown}")
    return lines


def main(credential: Any, resolver: SecretResolver, **client_options: Any) -> None:
    config = load(
        endpoint=ENDPOINT,
        credential=credential,
        resolver=resolver,
        selects=SELECTS,
        trim_prefixes=["app:"],
        replica_discovery_enabled=False,
        **client_options,
    )
    print("\n".join(describe(config)))
    print(f"{len(config)} settings loaded from {ENDPOINT}")


if __name__ == "__main__":
    seed = os.environ.get("KVCONFIG_FAKE_SEED")
    if seed:
        from kvconfig.fake import FakeKeyVault
        from kvconfig.fake.appconfig import FakeAppConfiguration

        keyvault = FakeKeyVault()
        keyvault.seed(seed)
        appconfig = FakeAppConfiguration(keyvault=keyvault)
        appconfig.seed(json.loads((Path(__file__).parent / "appconfig.json").read_text()))
        with SecretResolver(keyvault.async_credential(), transport=keyvault.async_transport) as resolver:
            main(appconfig.credential(), resolver, transport=appconfig.transport())
    else:
        from azure.identity import DefaultAzureCredential

        with SecretResolver() as resolver:
            main(DefaultAzureCredential(), resolver)
