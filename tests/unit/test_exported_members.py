"""The public surface of ``kvconfig`` is pinned: adding or removing a name is a deliberate change of this list."""

from __future__ import annotations

import kvconfig

PUBLIC = [
    "CachedSecret",
    "ConfigSource",
    "ExpiryWarning",
    "FakeVaultNotImplementedError",
    "FetchProgress",
    "KeyVaultReference",
    "KvConfigError",
    "ReferenceStatus",
    "ReferenceSyntaxError",
    "RefreshEvent",
    "ResolutionError",
    "ResolutionFailure",
    "ResolutionReport",
    "ResolvedSettings",
    "SecretCache",
    "SecretResolver",
    "SourceError",
    "UntrustedVaultError",
    "__version__",
    "find_references",
    "format_status_summary",
    "format_status_table",
    "from_dotenv",
    "from_environ",
    "from_file",
    "from_mapping",
    "is_reference",
    "is_trusted_host",
    "merge_sources",
    "parse_appconfig_reference",
    "parse_reference",
    "resolve_environ",
]


def test_public_surface_is_pinned() -> None:
    assert sorted(kvconfig.__all__) == PUBLIC


def test_every_exported_member_exists_and_says_it_is_kvconfigs() -> None:
    for name in kvconfig.__all__:
        member = getattr(kvconfig, name)
        if name != "__version__" and hasattr(member, "__module__"):
            assert member.__module__.startswith("kvconfig"), name
