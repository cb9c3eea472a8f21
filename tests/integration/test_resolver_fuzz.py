"""Grammar fuzzing at the resolver level: whatever the settings hold, resolution raises nothing but
ResolutionError, and no request ever reaches a host that is not a trusted Key Vault host."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kvconfig import ResolutionError, SecretResolver, is_trusted_host
from kvconfig.fake import FakeKeyVault

from .conftest import VAULT, Wire

HOSTS = [
    "contoso.vault.azure.net",
    "Contoso.Vault.Azure.Net:443",
    "contoso.vault.azure.cn",
    "contoso.vault.azure.net.evil.com",
    "evil.com",
    "contoso.vault.azure.net@evil.com",
    "127.0.0.1",
    "[::1]",
    "contoso.vault.azure.net:8443",
    "localhost",
    "",
]
NAMES = ["db", "DB", "api-key", "x" * 128, "bad_name", "", "a/b", "db%2F"]
VERSIONS = ["", "/0123456789abcdef0123456789abcdef", "/latest", "/0123456789ABCDEF0123456789ABCDEF", "//"]

_uri = st.builds(
    lambda scheme, host, name, version, tail: f"{scheme}://{host}/secrets/{name}{version}{tail}",
    st.sampled_from(["https", "http", "HTTPS", "ftp"]),
    st.sampled_from(HOSTS),
    st.sampled_from(NAMES),
    st.sampled_from(VERSIONS),
    st.sampled_from(["", "/", "?x=1", "#f", " "]),
)
_part = st.one_of(
    _uri.map(lambda uri: f"SecretUri={uri}"),
    st.sampled_from(["contoso", "co", "evil.com", "my--vault", "a" * 30]).map(lambda v: f"VaultName={v}"),
    st.sampled_from(NAMES).map(lambda n: f"SecretName={n}"),
    st.sampled_from(VERSIONS).map(lambda v: f"SecretVersion={v.lstrip('/')}"),
    st.sampled_from(["Foo=1", "=", "", " ", "SecretName", "(", ")"]),
)
_reference = st.builds(
    lambda prefix, parts, sep, close, pad: f"{pad}{prefix}{sep.join(parts)}{close}{pad}",
    st.sampled_from(["@Microsoft.KeyVault(", "@microsoft.keyvault(", "@Microsoft.KeyVault (", "Microsoft.KeyVault("]),
    st.lists(_part, max_size=4),
    st.sampled_from([";", " ; ", ";;", ","]),
    st.sampled_from([")", "", "))", ");x", ";)"]),
    st.sampled_from(["", " ", "\n"]),
)
_well_formed = st.one_of(
    _uri.map(lambda uri: f"@Microsoft.KeyVault(SecretUri={uri})"),
    st.builds(
        lambda vault, name: f"@Microsoft.KeyVault(VaultName={vault};SecretName={name})",
        st.sampled_from(["contoso", "fabrikam", "evil.com"]),
        st.sampled_from(NAMES),
    ),
)
_value = st.one_of(
    _well_formed,
    _reference,
    st.builds(
        lambda a, r, b: f"{a}{r}{b}", st.text(max_size=10), st.one_of(_well_formed, _reference), st.text(max_size=10)
    ),
    st.text(max_size=40),
    st.integers(),
    st.none(),
)


def test_fuzzed_settings_only_raise_resolution_error_and_only_reach_trusted_hosts(
    fake: FakeKeyVault, wire: Wire, make_resolver: Callable[..., SecretResolver]
) -> None:
    fake.set_secret(VAULT, "db", "fuzz-db-value")
    fake.set_secret(VAULT, "api-key", "fuzz-api-value")
    keep = make_resolver(on_failure="keep", embedded=True, ttl=0, timeout=2)
    strict = make_resolver(embedded=False, ttl=0, timeout=2)

    @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(st.dictionaries(st.sampled_from(["A", "B", "C", "D"]), _value, max_size=4))
    def check(values: dict[str, object]) -> None:
        kept = keep.resolve(values)
        assert set(kept) == set(values)
        failed: set[str] = set()
        try:
            strict.resolve(values)
        except ResolutionError as error:
            failed = {failure.setting for failure in error.failures}
        assert failed <= set(values)

    check()

    assert wire.hosts, "no example reached the fake: the strategy is too narrow"
    assert all(is_trusted_host(host) for host in wire.hosts), sorted(set(wire.hosts))
