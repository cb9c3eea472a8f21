"""SecretResolver.resolve through the official async SDK on the fake: pass-through, dedupe, concurrency, clients,
embedded and App Configuration references, and the sync API inside a running event loop and from threads."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest
from azure.keyvault.secrets._shared import http_challenge_cache

from kvconfig import ResolvedSettings, SecretResolver
from kvconfig.fake import FakeKeyVault

from .conftest import OTHER_VAULT, VAULT, VAULT_URL, Wire, ref


def test_resolve_passes_plain_values_through_untouched(fake: FakeKeyVault, resolver: SecretResolver) -> None:
    fake.set_secret(VAULT, "db", "s3cr3t-db")
    marker = object()
    settings = {
        "DB": ref("db"),
        "NAME": "app",
        "PORT": 5432,
        "DEBUG": False,
        "NOTHING": None,
        "LIST": [ref("db")],
        "OBJ": marker,
        "ALMOST": "Microsoft.KeyVault(VaultName=contoso;SecretName=db)",
    }

    resolved = resolver.resolve(settings)

    assert isinstance(resolved, ResolvedSettings)
    assert resolved["DB"] == "s3cr3t-db"
    for key in ("NAME", "PORT", "DEBUG", "NOTHING", "LIST", "ALMOST"):
        assert resolved[key] == settings[key]
    assert resolved["OBJ"] is marker
    assert list(resolved) == list(settings)


def test_resolve_accepts_both_reference_forms_and_pinned_versions(fake: FakeKeyVault, resolver: SecretResolver) -> None:
    old = fake.set_secret(VAULT, "api", "old-api-value")
    fake.set_secret(VAULT, "api", "new-api-value")

    resolved = resolver.resolve(
        {
            "A": f"@Microsoft.KeyVault(SecretUri={VAULT_URL}/secrets/api/)",
            "B": ref("api", version=old),
            "C": f"  @microsoft.keyvault( secretname = API ; vaultname = {VAULT} ; )  ",
        }
    )

    assert dict(resolved) == {"A": "new-api-value", "B": "old-api-value", "C": "new-api-value"}


def test_resolve_100_settings_over_3_secrets_sends_3_get_secret(fake: FakeKeyVault, resolver: SecretResolver) -> None:
    for index in range(3):
        fake.set_secret(VAULT, f"s{index}", f"value-{index}")
    # Same secret written three ways (names are case-insensitive in Key Vault): still one request each.
    forms = [
        lambda n: ref(n),
        lambda n: f"@Microsoft.KeyVault(SecretUri={VAULT_URL}/secrets/{n.upper()})",
        lambda n: f"@Microsoft.KeyVault(SecretUri=https://CONTOSO.vault.azure.net:443/secrets/{n}/)",
    ]
    settings = {f"S{i}": forms[i % 3](f"s{i % 3}") for i in range(100)}

    resolved = resolver.resolve(settings)

    assert fake.operation_counts["GetSecret"] == 3
    assert all(resolved[f"S{i}"] == f"value-{i % 3}" for i in range(100))


def test_resolve_concurrent_calls_share_in_flight_requests(fake: FakeKeyVault, resolver: SecretResolver) -> None:
    fake.latency = 0.02
    fake.set_secret(VAULT, "db", "shared-db-value")

    async def main() -> list[ResolvedSettings]:
        return await asyncio.gather(*(resolver.resolve_async({f"S{i}": ref("db")}) for i in range(10)))

    results = asyncio.run(main())

    assert [r[f"S{i}"] for i, r in enumerate(results)] == ["shared-db-value"] * 10
    assert fake.operation_counts["GetSecret"] == 1


@pytest.mark.parametrize("concurrency", [1, 4, 16])
def test_resolve_never_exceeds_the_concurrency_bound(
    fake: FakeKeyVault, wire: Wire, make_resolver: Callable[..., SecretResolver], concurrency: int
) -> None:
    fake.latency = 0.03 if concurrency > 1 else 0.0  # long enough for a full wave to be in flight together
    for index in range(40):
        fake.set_secret(VAULT, f"s{index}", f"v{index}")
    resolver = make_resolver(concurrency=concurrency)

    resolver.resolve({f"S{i}": ref(f"s{i}") for i in range(40)})

    assert fake.operation_counts["GetSecret"] == 40
    assert wire.gauge["max"] == concurrency


def test_resolve_fans_out_after_the_first_request_of_a_vault_is_authorized(
    fake: FakeKeyVault, wire: Wire, make_resolver: Callable[..., SecretResolver]
) -> None:
    fake.latency = 0.01
    for index in range(32):
        fake.set_secret(VAULT, f"s{index}", f"v{index}")
    resolver = make_resolver(concurrency=16)
    http_challenge_cache.clear()  # a new process: the SDK has not met this vault's challenge yet

    resolver.resolve({f"S{i}": ref(f"s{i}") for i in range(32)})

    # One challenge for the vault (not one per request of the first wave), then every request with a token.
    assert wire.bearer.count(False) == 1
    assert wire.bearer[0] is False
    assert fake.operation_counts["GetSecret"] == 32
    assert wire.gauge["max"] == 16


def test_resolve_uses_one_sdk_client_per_vault(fake: FakeKeyVault, wire: Wire, resolver: SecretResolver) -> None:
    for vault in (VAULT, OTHER_VAULT):
        for index in range(5):
            fake.set_secret(vault, f"s{index}", f"{vault}-{index}")
    settings = {f"{vault}{i}": ref(f"s{i}", vault) for vault in (VAULT, OTHER_VAULT) for i in range(5)}

    resolved = resolver.resolve(settings)
    resolver.invalidate()
    resolver.resolve(settings)

    assert resolved[f"{OTHER_VAULT}3"] == f"{OTHER_VAULT}-3"
    assert wire.transports == 2
    assert set(wire.hosts) == {f"{VAULT}.vault.azure.net", f"{OTHER_VAULT}.vault.azure.net"}


def test_resolve_asks_the_credential_once_per_vault(
    fake: FakeKeyVault, make_resolver: Callable[..., SecretResolver]
) -> None:
    calls: list[tuple[str, ...]] = []
    inner = fake.async_credential()

    class CountingCredential:
        async def get_token(self, *scopes: str, **kwargs: object) -> object:
            calls.append(scopes)
            await asyncio.sleep(0.005)  # a token endpoint takes a while: concurrent callers would all ask
            return await inner.get_token(*scopes, **kwargs)  # type: ignore[arg-type]

        async def close(self) -> None:
            pass

    fake.latency = 0.005
    for index in range(40):
        fake.set_secret(VAULT, f"s{index}", f"v{index}")
    resolver = make_resolver(credential=CountingCredential())

    resolver.resolve({f"S{i}": ref(f"s{i}") for i in range(40)})
    http_challenge_cache.clear()
    make_resolver(credential=CountingCredential()).resolve({f"S{i}": ref(f"s{i}") for i in range(40)})

    assert len(calls) == 2  # one per resolver (each has its own SDK client for the vault), challenge cached or not


def test_resolve_accepts_a_sync_credential(fake: FakeKeyVault, make_resolver: Callable[..., SecretResolver]) -> None:
    fake.set_secret(VAULT, "db", "sync-cred-value")
    resolver = make_resolver(credential=fake.credential())

    assert resolver.resolve_value(ref("db")) == "sync-cred-value"


def test_resolve_embedded_references_only_when_enabled(
    fake: FakeKeyVault, make_resolver: Callable[..., SecretResolver]
) -> None:
    fake.set_secret(VAULT, "pw", "emb3dded-pw")
    fake.set_secret(VAULT, "user", "emb3dded-user")
    text = f"Server=db;User={ref('user')};Password={ref('pw')};Timeout=3"

    assert make_resolver().resolve({"CONN": text})["CONN"] == text
    assert fake.operation_counts["GetSecret"] == 0

    resolved = make_resolver(embedded=True).resolve({"CONN": text})
    assert resolved["CONN"] == "Server=db;User=emb3dded-user;Password=emb3dded-pw;Timeout=3"


def test_resolve_app_configuration_references_by_content_type(fake: FakeKeyVault, resolver: SecretResolver) -> None:
    fake.set_secret(VAULT, "db", "appconfig-db-value")
    content_type = "application/vnd.microsoft.appconfig.keyvaultref+json;charset=utf-8"
    value = f'{{"uri": "{VAULT_URL}/secrets/db"}}'

    resolved = resolver.resolve(
        {"Db:Password": value, "Plain": value}, content_types={"Db:Password": content_type, "Plain": "text/plain"}
    )

    assert resolved["Db:Password"] == "appconfig-db-value"
    assert resolved["Plain"] == value


def test_sync_resolve_works_inside_a_running_event_loop(fake: FakeKeyVault, resolver: SecretResolver) -> None:
    fake.set_secret(VAULT, "db", "in-loop-value")

    async def startup_hook() -> str:
        return resolver.resolve({"DB": ref("db")})["DB"]

    assert asyncio.run(startup_hook()) == "in-loop-value"


async def test_sync_resolve_works_from_an_async_test_body(fake: FakeKeyVault, resolver: SecretResolver) -> None:
    fake.set_secret(VAULT, "db", "async-body-value")

    assert resolver.resolve({"DB": ref("db")})["DB"] == "async-body-value"
    assert (await resolver.resolve_async({"DB": ref("db")}))["DB"] == "async-body-value"


def test_sync_resolve_works_from_several_threads_at_once(fake: FakeKeyVault, resolver: SecretResolver) -> None:
    fake.latency = 0.01
    for index in range(8):
        fake.set_secret(VAULT, f"s{index}", f"thread-{index}")
    results: dict[int, str] = {}

    def work(index: int) -> None:
        results[index] = resolver.resolve({"X": ref(f"s{index}")})["X"]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results == {i: f"thread-{i}" for i in range(8)}


async def test_resolve_async_in_the_callers_loop(fake: FakeKeyVault, resolver: SecretResolver) -> None:
    fake.set_secret(VAULT, "db", "async-value")

    resolved = await resolver.resolve_async({"DB": ref("db"), "N": 1})

    assert dict(resolved) == {"DB": "async-value", "N": 1}
    assert await resolver.check_async({"DB": ref("db")})


async def test_async_context_manager_closes_the_resolver(fake: FakeKeyVault, wire: Wire) -> None:
    fake.set_secret(VAULT, "db", "ctx-value")
    async with SecretResolver(fake.async_credential(), transport=wire.transport) as resolver:
        assert (await resolver.resolve_async({"DB": ref("db")}))["DB"] == "ctx-value"
    assert resolver.closed
    with pytest.raises(RuntimeError, match="closed"):
        resolver.resolve({"DB": ref("db")})


def test_sync_api_from_a_change_listener_is_refused_with_a_clear_error(
    fake: FakeKeyVault, resolver: SecretResolver
) -> None:
    fake.set_secret(VAULT, "db", "v1-value")
    resolver.resolve({"DB": ref("db")})
    fake.set_secret(VAULT, "db", "v2-value")
    errors: list[BaseException] = []

    def listener(_event: object) -> None:
        try:
            resolver.resolve({"DB": ref("db")})
        except RuntimeError as exc:
            errors.append(exc)

    resolver.add_listener(listener)
    resolver.refresh()

    assert errors
    assert "async API" in str(errors[0])


def test_resolver_options_are_validated() -> None:
    with pytest.raises(ValueError, match="concurrency"):
        SecretResolver(concurrency=0)
    with pytest.raises(ValueError, match="on_failure"):
        SecretResolver(on_failure="ignore")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="logging_enable"):
        SecretResolver(client_options={"logging_enable": True})
    with pytest.raises(ValueError, match="unknown cloud 'mars'"):
        SecretResolver(cloud="mars")
    with pytest.raises(ValueError, match=r"trusted_hosts entry 'https://myvault\.localhost'"):
        SecretResolver(trusted_hosts=["https://myvault.localhost"])
