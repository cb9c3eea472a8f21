"""The fake accepts every api-version the installed azure-keyvault SDKs can send."""

from __future__ import annotations

import importlib

import pytest

from kvconfig.fake import API_VERSIONS
from kvconfig.fake.core.api_versions import LATEST, at_least, is_known


@pytest.mark.parametrize("package", ["secrets", "keys", "certificates"])
def test_api_versions_cover_every_installed_sdk_api_version(package: str) -> None:
    module = pytest.importorskip(f"azure.keyvault.{package}")
    sdk_versions = {member.value for member in module.ApiVersion}
    assert sdk_versions
    assert sdk_versions <= set(API_VERSIONS), sorted(sdk_versions - set(API_VERSIONS))


def test_api_versions_are_unique_and_latest_is_last() -> None:
    assert len(set(API_VERSIONS)) == len(API_VERSIONS)
    assert API_VERSIONS[-1] == LATEST


def test_sdk_default_api_versions_are_known() -> None:
    for package in ("secrets", "keys", "certificates"):
        try:
            client_base = importlib.import_module(f"azure.keyvault.{package}._shared.client_base")
        except ImportError:
            continue
        assert is_known(str(client_base.DEFAULT_VERSION.value)), package


def test_at_least_orders_date_and_numbered_versions() -> None:
    assert at_least("7.1", "7.0")
    assert not at_least("7.0", "7.1")
    assert at_least("2025-07-01", "7.6")
    assert at_least("7.0", "2016-10-01")
    assert not is_known("9.9")
