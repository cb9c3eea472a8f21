"""A resolver across ``fork()``: its loop thread does not survive, so a child that uses an inherited resolver gets a
clear ``RuntimeError`` (never a hang), closing it there returns at once, and a resolver made after the fork works."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Any

import pytest

from kvconfig import SecretResolver
from kvconfig.fake import FakeKeyVault

from .conftest import VAULT, ref

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")


def in_child(body: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``body`` in a forked child; what it returned (as JSON), or the exception it raised, by name and message."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        status = 0
        try:
            try:
                outcome: dict[str, Any] = body()
            except BaseException as exc:
                outcome = {"raised": type(exc).__name__, "message": str(exc)}
            os.write(write_end, json.dumps(outcome).encode())
        except BaseException:
            status = 1
        finally:
            os._exit(status)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 65536):
        chunks.append(chunk)
    os.close(read_end)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    result: dict[str, Any] = json.loads(b"".join(chunks))
    return result


def test_a_resolver_used_before_the_fork_refuses_clearly_in_the_child_and_closes_at_once(
    fake: FakeKeyVault, make_resolver: Callable[..., SecretResolver]
) -> None:
    fake.set_secret(VAULT, "db", "before-fork")
    resolver = make_resolver()
    assert resolver.resolve({"DB": ref("db")})["DB"] == "before-fork"
    parent = os.getpid()

    def child() -> dict[str, Any]:
        try:
            resolver.refresh()
        except RuntimeError as exc:
            refused = str(exc)
        else:
            refused = ""
        started = time.monotonic()
        resolver.close()
        return {"refused": refused, "close_s": time.monotonic() - started}

    outcome = in_child(child)

    assert f"used before the process forked (in process {parent})" in outcome["refused"]
    assert "Make a new SecretResolver in this process after the fork" in outcome["refused"]
    assert outcome["close_s"] < 1.0
    # The parent's resolver is untouched by its child's fork.
    fake.set_secret(VAULT, "db", "after-fork")
    assert resolver.refresh()["DB"] == "after-fork"


def test_a_resolver_made_after_the_fork_or_never_used_before_it_works_in_the_child(
    fake: FakeKeyVault, make_resolver: Callable[..., SecretResolver]
) -> None:
    fake.set_secret(VAULT, "db", "v1")
    used = make_resolver()
    used.resolve({"DB": ref("db")})
    unused = make_resolver()

    def child() -> dict[str, Any]:
        fresh = make_resolver()
        try:
            return {"fresh": fresh.resolve({"DB": ref("db")})["DB"], "unused": unused.resolve_value(ref("db"))}
        finally:
            fresh.close()
            unused.close()

    assert in_child(child) == {"fresh": "v1", "unused": "v1"}
