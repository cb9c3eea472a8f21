"""kvconfig + pydantic-settings: a settings class whose fields come from Key Vault, by reference or by name.

Against Azure (DefaultAzureCredential)::

    APP_API_KEY='@Microsoft.KeyVault(VaultName=contoso-app;SecretName=api-key)' python examples/pydantic_script.py

Offline, against kvconfig's fake Key Vault seeded from examples/vault.json::

    KVCONFIG_FAKE_SEED=examples/vault.json APP_API_KEY='@Microsoft.KeyVault(VaultName=contoso-app;SecretName=api-key)' \
        python examples/pydantic_script.py
"""

from __future__ import annotations

import os

from pydantic import SecretStr

from kvconfig.settings import KeyVaultSettings, KeyVaultSettingsConfigDict


class Settings(KeyVaultSettings):
    model_config = KeyVaultSettingsConfigDict(
        env_prefix="APP_",
        keyvault_url="https://contoso-app.vault.azure.net",  # db_password <- secret "db-password"
    )

    db_password: SecretStr
    api_key: SecretStr  # APP_API_KEY holds a Key Vault reference
    name: str = "pydantic-example"


def main() -> Settings:
    settings = Settings()
    print(settings)  # values from Key Vault are hidden
    status = settings.keyvault_status
    print(f"{len(status.references)} reference(s) and {len(status.secrets)} secret(s) read from Key Vault")
    return settings


if __name__ == "__main__":
    seed = os.environ.get("KVCONFIG_FAKE_SEED")
    if seed:
        from kvconfig.fake import FakeKeyVault

        fake = FakeKeyVault()
        fake.seed(seed)
        with fake.patch():
            main()
    else:
        main()
