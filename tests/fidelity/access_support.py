"""Helpers shared by the access-control, audit, throttling and events fidelity tests."""

from __future__ import annotations

from typing import Any

from kvconfig.fake import Identity

from .support import VaultUnderTest


def credential_for(kv: VaultUnderTest, identity: str | Identity) -> Any:
    """A fake credential naming ``identity``, of the kind ``kv``'s clients take (sync or async)."""
    fake = kv.need_fake()
    return fake.async_credential(identity) if kv.is_async else fake.credential(identity)


def client_for(kv: VaultUnderTest, identity: str | Identity, **kwargs: Any) -> Any:
    """Another client of ``kv``'s kind whose tokens name ``identity``."""
    return kv.make_client(credential=credential_for(kv, identity), **kwargs)
