"""A vault's tenant is a GUID or a domain name: it goes into every 401's challenge header and is compared with each
token's tid, so a value that could break the header (a quote, a line break) or the comparison (not a string) is
refused when the fake or the vault is made, not met as a 500 on every request."""

from __future__ import annotations

from typing import Any

import pytest

from kvconfig.fake import FakeKeyVault, SeedError


@pytest.mark.parametrize("tenant", ["a\r\nX-Injected: 1", 'a"b', " ", "ÄÖ", "", 123, "x" * 200])
def test_a_vault_of_a_tenant_that_is_not_a_guid_or_a_domain_is_refused(tenant: Any) -> None:
    fake = FakeKeyVault()

    with pytest.raises(ValueError, match="tenant_id must be a tenant's GUID or domain name"):
        fake.create_vault("tenant-check", tenant_id=tenant) if tenant != "" else FakeKeyVault(tenant_id=tenant)


@pytest.mark.parametrize("tenant", ["11111111-2222-3333-4444-555555555555", "contoso.onmicrosoft.com", "other-tenant"])
def test_a_guid_or_a_domain_is_a_tenant(tenant: str) -> None:
    assert FakeKeyVault(tenant_id=tenant).create_vault("tenant-check").properties.tenant_id == tenant


def test_a_seed_with_a_bad_tenant_names_the_vault() -> None:
    with pytest.raises(SeedError, match="Cannot create vault 'tenant-check': tenant_id must be"):
        FakeKeyVault().seed({"vaults": {"tenant-check": {"properties": {"tenant_id": "a b"}}}})
