"""Interleavings the fake must survive, made deterministic: each test runs, at the one point a race needs, what
another thread could run there, and checks that nothing is lost or remembered wrongly."""

from __future__ import annotations

import threading
from typing import Any

from kvconfig.fake import FakeKeyVault, ManualClock
from kvconfig.fake.control.events import _ExpiryWatch
from kvconfig.fake.core.routing import OperationContext, Route, RouteTable
from kvconfig.fake.core.state import ObjectStore, Vault, VaultProperties

START = 1_800_000_000
DAY = 86400


def test_a_store_first_asked_for_by_two_threads_at_once_is_one_store() -> None:
    others: list[ObjectStore[object]] = []
    threads: list[threading.Thread] = []
    main = threading.current_thread()

    class Stores(dict[str, ObjectStore[object]]):
        raced = False

        def get(self, key: str, default: Any = None) -> Any:
            found = super().get(key, default)
            if found is None and threading.current_thread() is main and not self.raced:
                # Another request asks for the same store between this thread's look-up and its insert.
                self.raced = True
                other = threading.Thread(target=lambda: others.append(vault.store("keys")))
                other.start()
                threads.append(other)
                other.join(0.2)
            return found

    vault = Vault(VaultProperties("race", "race.vault.azure.net"), stores=Stores())
    mine = vault.store("keys")
    mine.get_or_create("k1")
    for other in threads:  # it may still be waiting for this thread's insert: let it finish
        other.join(10)
    assert others
    assert others[0] is mine
    assert vault.store("keys").get("k1") is not None


def test_a_route_added_while_a_match_is_computed_is_not_hidden_by_that_match() -> None:
    def handler(ctx: OperationContext) -> object:
        return {}

    added = Route("GET", "/things/{name}", "GetThing", handler)
    raced: list[bool] = []

    class RacingRoute(Route):
        def match(self, method: str, path: str) -> dict[str, str] | None:
            if not raced:
                # Another thread adds a route and serves a request (re-indexing the table) while this one matches.
                raced.append(True)
                table.extend([added])
                table.match("GET", "/things")
            return super().match(method, path)

    table = RouteTable([RacingRoute("GET", "/things/list", "ListThings", handler)])
    assert table.match("GET", "/things/t1") is None  # answered from the table as it was: fine
    found = table.match("GET", "/things/t1")  # but that answer must not outlive the change
    assert found is not None
    assert found[0] is added


def test_expiry_scans_finishing_in_either_order_never_skip_an_event_that_comes_due() -> None:
    clock = ManualClock(START)
    fake = FakeKeyVault(clock=clock)
    url = "https://expiry-race.vault.azure.net"
    vault = fake.vault(url)
    fake.set_secret(url, "far", "v", expires_on=START + 100 * DAY)
    published: list[tuple[str, str]] = []
    fake.events.subscribe(lambda event: published.append((event.subject, event.event_type)))

    class RacingWatch(_ExpiryWatch):
        armed = False

        def __setattr__(self, name: str, value: object) -> None:
            object.__setattr__(self, name, value)
            if type(self).armed:
                # This scan (which saw only "far") is recording what it saw; meanwhile another thread adds a secret
                # that comes due sooner and its request's scan records that, all before this one finishes.
                type(self).armed = False
                fake.set_secret(url, "soon", "v", expires_on=START + 40 * DAY)
                fake.tick()

    vault.extensions["events"] = RacingWatch()
    RacingWatch.armed = True
    fake.tick()
    assert not RacingWatch.armed

    clock.advance(days=15)  # "soon" is now within 30 days of its expiry
    fake.tick()
    assert ("soon", "Microsoft.KeyVault.SecretNearExpiry") in published
