"""``Fleet(closing=...)``: ``aclose`` closes what the fleet was given, in order, after the shared tier; every one even
when one before it fails, the first failure raised after (the later ones logged); what it lists is closed once."""

from __future__ import annotations

import asyncio

import pytest

from kvconfig.crypto import LocalKeyWrapper, generate_key
from kvconfig.fleet import Fleet, RedisSharedCache

wrapper = LocalKeyWrapper(generate_key("oct", size=256), "https://contoso.vault.azure.net/keys/k/" + "0" * 32)


class Resource:
    def __init__(self, name: str, closed: list[str], fails: bool = False) -> None:
        self.name, self.closed, self.fails = name, closed, fails

    async def close(self) -> None:
        self.closed.append(self.name)
        if self.fails:
            raise RuntimeError(f"{self.name} failed to close")


class Shared(RedisSharedCache):
    closed: list[str]

    async def aclose(self) -> None:
        self.closed.append("shared")
        await super().aclose()


def test_everything_is_closed_in_order_and_the_first_failure_is_raised(caplog: pytest.LogCaptureFixture) -> None:
    closed: list[str] = []
    shared = Shared("redis://127.0.0.1:1/0", wrapper)
    shared.closed = closed
    fleet = Fleet(
        shared=shared,
        listen=False,
        closing=[
            Resource("first", closed, fails=True),
            Resource("second", closed, fails=True),
            Resource("third", closed),
        ],
    )

    with pytest.raises(RuntimeError, match=r"^first failed to close$") as caught:
        asyncio.run(fleet.aclose())

    assert closed == ["shared", "first", "second", "third"]
    assert caught.value.__context__ is None
    assert "Resource.close also failed (RuntimeError)" in caplog.text
    asyncio.run(fleet.aclose())
    assert closed == ["shared", "first", "second", "third", "shared"]  # the shared tier's aclose is idempotent
