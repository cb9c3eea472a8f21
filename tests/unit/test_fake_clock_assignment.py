"""``FakeKeyVault.clock`` can be replaced after construction: time and token checks both follow the new clock."""

from __future__ import annotations

from kvconfig.fake import FakeKeyVault, ManualClock

VAULT = "https://clockswap.vault.azure.net"
RESOURCE = "https://vault.azure.net"


def test_assigning_a_clock_moves_tokens_and_state_onto_it() -> None:
    fake = FakeKeyVault()
    clock = ManualClock(start=1_700_000_000)
    fake.clock = clock
    assert fake.clock is clock
    assert fake.tokens.clock is clock

    fake.set_secret(VAULT, "s1", "value")
    token = fake.credential("app", lifetime=60).get_token(f"{RESOURCE}/.default").token
    headers = {"Authorization": f"Bearer {token}"}
    response = fake.handle("GET", f"{VAULT}/secrets/s1?api-version=7.5", headers)
    assert response.status == 200
    body = response.json()
    assert isinstance(body, dict)
    assert body["attributes"]["created"] == 1_700_000_000

    fake.advance(seconds=61)  # the new clock is the one advance() moves and the one tokens expire on
    expired = fake.handle("GET", f"{VAULT}/secrets/s1?api-version=7.5", headers)
    assert expired.status == 401
    assert "expired" in expired.body.decode().lower()
