"""Settings sources: kvconfig's per-field ``KeyVaultSecretsSource`` against pydantic-settings'
``AzureKeyVaultSettingsSource``, for a 50-field settings class in a vault of 500 secrets at 20 ms per request.

Both run against the same in-process fake Key Vault with ``latency=0.02`` under ``fake.patch()`` (pydantic's source
builds its own ``SecretClient``), with ``DefaultAzureCredential``. Rounds are interleaved so drift hits both alike.

    /work/venv/bin/python benchmarks/bench_settings.py [--rounds 3] [--fields 50] [--secrets 500] [--latency 0.02]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from azure.identity import DefaultAzureCredential
from pydantic import create_model
from pydantic_settings import AzureKeyVaultSettingsSource, BaseSettings, PydanticBaseSettingsSource

from kvconfig.fake import FakeKeyVault
from kvconfig.settings import KeyVaultSecretsSource

VAULT = "https://benchvault.vault.azure.net"


def settings_class(fields: int, source: str) -> type[BaseSettings]:
    def customise(
        cls: type[BaseSettings], settings_cls: type[BaseSettings], **sources: PydanticBaseSettingsSource
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        if source == "kvconfig":
            return (KeyVaultSecretsSource(settings_cls, VAULT, dash_to_underscore=True),)
        return (AzureKeyVaultSettingsSource(settings_cls, VAULT, DefaultAzureCredential(), dash_to_underscore=True),)

    definitions: dict[str, Any] = {f"setting_{index}": (str, ...) for index in range(fields)}
    model = create_model(f"Settings_{source}", __base__=BaseSettings, **definitions)  # type: ignore[call-overload]
    model.settings_customise_sources = classmethod(customise)  # type: ignore[assignment,method-assign]
    return model  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--fields", type=int, default=50)
    parser.add_argument("--secrets", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.02)
    args = parser.parse_args()

    fake = FakeKeyVault(latency=args.latency)
    for index in range(args.secrets):
        name = f"setting-{index}" if index < args.fields else f"other-secret-{index}"
        fake.set_secret(VAULT, name, f"value-{index}")
    classes = {name: settings_class(args.fields, name) for name in ("kvconfig", "pydantic")}
    times: dict[str, list[float]] = {name: [] for name in classes}
    lists: dict[str, int] = dict.fromkeys(classes, 0)
    gets: dict[str, int] = dict.fromkeys(classes, 0)
    with fake.patch():
        for cls in classes.values():  # warm-up, untimed: first imports of the SDK and azure-identity
            cls()
        for _round in range(args.rounds):
            for name, cls in classes.items():
                before = fake.operation_counts.copy()
                start = time.perf_counter()
                settings = cls()
                times[name].append(time.perf_counter() - start)
                assert settings.model_dump()["setting_0"] == "value-0"
                lists[name] += fake.operation_counts["GetSecrets"] - before["GetSecrets"]
                gets[name] += fake.operation_counts["GetSecret"] - before["GetSecret"]

    print(
        f"{args.fields} fields, vault of {args.secrets} secrets, {args.latency * 1000:.0f} ms per request, "
        f"{args.rounds} interleaved rounds after one warm-up load each"
    )
    print(f"{'source':<34} {'median s':>9} {'min s':>7} {'List calls/load':>16} {'Get calls/load':>15}")
    labels = {"kvconfig": "kvconfig KeyVaultSecretsSource", "pydantic": "pydantic AzureKeyVaultSettingsSource"}
    for name in classes:
        print(
            f"{labels[name]:<34} {statistics.median(times[name]):>9.3f} {min(times[name]):>7.3f} "
            f"{lists[name] / args.rounds:>16.1f} {gets[name] / args.rounds:>15.1f}"
        )
    ratio = statistics.median(times["pydantic"]) / statistics.median(times["kvconfig"])
    print(f"speed-up (median): {ratio:.1f}x")


if __name__ == "__main__":
    main()
