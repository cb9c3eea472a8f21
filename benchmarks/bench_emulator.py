"""``get_secret`` through the official SecretClient over loopback HTTPS: the emulator against a canned HTTPS server.

    python benchmarks/bench_emulator.py [--rounds 7] [--ops 500] [--clients 32] [--client-ops 50] [--starts 5]
    python benchmarks/bench_emulator.py --startup-only --starts 9     # start-up to healthy alone

The emulator is ``python -m kvconfig fake serve`` in its own process. The floor is a minimal HTTPS server, also in
its own process (this script, ``--serve-floor``), with the same TLS certificate authority and the same socket
options, answering every request with one prepared SecretBundle (and the usual 401 challenge to a request without
a token): TLS + HTTP/1.1 keep-alive + the SDK, and nothing a vault could spend. Both get the same client: one
``SecretClient`` (requests, keep-alive) making sequential calls. Rounds alternate emulator / floor so drift in the
machine's speed hits both alike; the median round of each is reported.

Then 32 concurrent clients (``azure.keyvault.secrets.aio`` over aiohttp, one connection each, on one event loop)
against each server: errors counted, p50 / p99 latency reported. Then start-up to healthy: from spawning
``python -m kvconfig fake serve`` to the first 200 from its health endpoint, median of ``--starts`` starts with an
existing CA directory, and once with a new one.

The last line is ``emulator: sdk_ops_s=<n> floor_ops_s=<n> ratio=<r>`` (goal: ratio >= 0.7).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import azure.core
import azure.keyvault.secrets
from azure.core.credentials import AccessToken
from azure.keyvault.secrets import SecretClient
from azure.keyvault.secrets import aio as secrets_aio

VAULT = "bench"
NAME = "bench-secret"
VALUE = "s3cret-" + "x" * 40
VERSION = "0123456789abcdef0123456789abcdef"
_USE_BYTECODE = True
_HEADERS = (
    b"cache-control: no-cache\r\n"
    b"content-type: application/json; charset=utf-8\r\n"
    b"x-ms-keyvault-service-version: 1.9.0.0\r\n"
    b"x-ms-request-id: 00000000-0000-0000-0000-000000000001\r\n"
    b"x-ms-keyvault-region: westus\r\n"
    b"x-ms-keyvault-network-info: conn_type=Ipv4;addr=127.0.0.1;act_addr_fam=InterNetwork;\r\n"
)


# -- the floor: a minimal HTTPS server answering one canned SecretBundle ----------------------------------------------


class _CannedProtocol(asyncio.Protocol):
    def __init__(self, ok: bytes, challenge: bytes) -> None:
        self._ok = ok
        self._challenge = challenge
        self._buffer = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        assert self._transport is not None
        self._buffer += data
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self._buffer[:end].lower()
            length = 0
            for line in head.split(b"\r\n")[1:]:
                if line.startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if len(self._buffer) < end + 4 + length:
                return
            self._buffer = self._buffer[end + 4 + length :]
            self._transport.write(self._ok if b"\r\nauthorization:" in head else self._challenge)


def _response(status: str, headers: bytes, body: bytes) -> bytes:
    return f"HTTP/1.1 {status}\r\n".encode() + headers + f"content-length: {len(body)}\r\n\r\n".encode() + body


def serve_floor(cert_dir: str, port_file: str) -> None:
    from kvconfig.fake.serve.tls import LoopbackCertificateAuthority

    context = LoopbackCertificateAuthority.load_or_create(cert_dir).server_context()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        holder: dict[str, tuple[bytes, bytes]] = {}
        server = await loop.create_server(lambda: _CannedProtocol(*holder["answers"]), "127.0.0.1", 0, ssl=context)
        port = server.sockets[0].getsockname()[1]
        bundle = {
            "value": VALUE,
            "id": f"https://{VAULT}.localhost:{port}/secrets/{NAME}/{VERSION}",
            "attributes": {
                "enabled": True,
                "created": 1700000000,
                "updated": 1700000000,
                "recoverableDays": 90,
                "recoveryLevel": "Recoverable+Purgeable",
            },
        }
        challenge_body = b'{"error":{"code":"Unauthorized","message":"AKV10000: Request is missing a Bearer token."}}'
        challenge_headers = (
            _HEADERS
            + (
                'www-authenticate: Bearer authorization="https://login.microsoftonline.com/'
                f'72f988bf-86f1-41af-91ab-2d7cd011db47", resource="https://localhost:{port}"\r\n'
            ).encode()
        )
        holder["answers"] = (
            _response("200 OK", _HEADERS, json.dumps(bundle, separators=(",", ":")).encode()),
            _response("401 Unauthorized", challenge_headers, challenge_body),
        )
        Path(port_file).write_text(str(port))
        async with server:
            await server.serve_forever()

    asyncio.run(main())


# -- the client side ---------------------------------------------------------------------------------------------------


class StaticCredential:
    """One bearer token for every scope (the emulator's, fetched once; the floor takes any)."""

    def __init__(self, token: str) -> None:
        self._token = AccessToken(token, int(time.time()) + 3600)

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return self._token

    def close(self) -> None:
        pass


class AsyncStaticCredential(StaticCredential):
    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:  # type: ignore[override]
        return self._token

    async def close(self) -> None:  # type: ignore[override]
        pass


def _resolve_localhost_subdomains() -> None:
    """``*.localhost`` to 127.0.0.1 in this process, where the machine's resolver does not (both contenders alike)."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.lower().endswith(".localhost"):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _healthy(port: int, context: ssl.SSLContext) -> bool:
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=1) as raw,
            context.wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            tls.sendall(b"GET /_kvconfig/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            return tls.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def _spawn_emulator(port: int, cert_dir: Path, seed: Path | None = None) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "kvconfig", "fake", "serve", "--port", str(port), "--cert-dir", str(cert_dir)]
    if seed is not None:
        command += ["--seed", str(seed)]
    # As installed from a wheel: bytecode cached (pip compiles it at install time). PYTHONDONTWRITEBYTECODE would
    # recompile kvconfig's sources on every start (~0.15 s more); --no-bytecode measures that case.
    env = dict(os.environ)
    if _USE_BYTECODE:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)


def _wait_healthy(port: int, cert_dir: Path, process: subprocess.Popen[bytes], limit: float = 30.0) -> float:
    started = time.perf_counter()
    context: ssl.SSLContext | None = None
    while time.perf_counter() - started < limit:
        if process.poll() is not None:
            raise RuntimeError(f"the emulator exited with {process.returncode}")
        ca = cert_dir / "ca.pem"
        if context is None and ca.is_file():
            with contextlib.suppress(ssl.SSLError, OSError):
                context = ssl.create_default_context(cafile=str(ca))
        if context is not None and _healthy(port, context):
            return time.perf_counter() - started
        time.sleep(0.005)
    raise RuntimeError("the emulator did not become healthy")


def _stop(process: subprocess.Popen[Any]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def _servers(scratch: Path) -> Iterator[tuple[int, int, str]]:
    """The emulator and the floor, running: (emulator port, floor port, a token the emulator accepts)."""
    cert_dir = scratch / "certs"
    seed = scratch / "seed.json"
    seed.write_text(json.dumps({"vaults": {VAULT: {"secrets": {NAME: VALUE}}}}))
    port = _free_port()
    emulator = _spawn_emulator(port, cert_dir, seed)
    floor: subprocess.Popen[bytes] | None = None
    try:
        _wait_healthy(port, cert_dir, emulator)
        port_file = scratch / "floor.port"
        floor = subprocess.Popen([sys.executable, __file__, "--serve-floor", str(cert_dir), str(port_file)])
        for _ in range(3000):
            if port_file.is_file() and port_file.read_text():
                break
            time.sleep(0.01)
        floor_port = int(port_file.read_text())
        context = ssl.create_default_context(cafile=str(cert_dir / "ca.pem"))
        with (
            socket.create_connection(("127.0.0.1", port)) as raw,
            context.wrap_socket(raw, server_hostname="localhost") as t,
        ):
            t.sendall(
                f"GET /_kvconfig/token?identity=bench HTTP/1.1\r\nHost: localhost:{port}\r\n"
                "Connection: close\r\n\r\n".encode()
            )
            answer = b""
            while chunk := t.recv(65536):
                answer += chunk
        token = json.loads(answer.split(b"\r\n\r\n", 1)[1])["access_token"]
        yield port, floor_port, token
    finally:
        _stop(emulator)
        if floor is not None:
            _stop(floor)


def _sequential(client: SecretClient, ops: int) -> float:
    started = time.perf_counter()
    for _ in range(ops):
        client.get_secret(NAME)
    return ops / (time.perf_counter() - started)


async def _concurrent(url: str, ca: str, token: str, clients: int, ops: int) -> tuple[int, int, list[float]]:
    latencies: list[float] = []
    errors = 0

    async def one() -> None:
        nonlocal errors
        async with secrets_aio.SecretClient(url, AsyncStaticCredential(token), connection_verify=ca) as client:
            for _ in range(ops):
                started = time.perf_counter()
                try:
                    secret = await client.get_secret(NAME)
                    if secret.value != VALUE:
                        errors += 1
                except Exception:
                    errors += 1
                latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    return errors, int(len(latencies) / elapsed), latencies


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _startup_only(starts: int) -> None:
    """Start-up to healthy alone: one start to create the CA (not counted), then ``starts`` starts."""
    with tempfile.TemporaryDirectory(prefix="kvconfig-bench-") as scratch_name:
        certs = Path(scratch_name) / "certs"
        times = []
        for _ in range(starts + 1):
            port = _free_port()
            process = _spawn_emulator(port, certs)
            try:
                times.append(_wait_healthy(port, certs, process))
            finally:
                _stop(process)
    kept = times[1:]
    print(
        f"load {os.getloadavg()[0]:.2f}; start-up to healthy (python -m kvconfig fake serve), {starts} starts: "
        f"median {statistics.median(kept):.3f} s, min {min(kept):.3f} s, max {max(kept):.3f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--ops", type=int, default=500, help="sequential calls per round and contender")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--client-ops", type=int, default=50, help="calls per concurrent client")
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--no-bytecode", action="store_true", help="start the emulator without cached bytecode")
    parser.add_argument("--startup-only", action="store_true", help="measure only start-up to healthy (--starts)")
    parser.add_argument("--serve-floor", nargs=2, metavar=("CERT_DIR", "PORT_FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_floor:
        serve_floor(*args.serve_floor)
        return
    global _USE_BYTECODE
    _USE_BYTECODE = not args.no_bytecode
    _resolve_localhost_subdomains()
    if args.startup_only:
        _startup_only(args.starts)
        return
    print(
        f"python {platform.python_version()}, azure-core {azure.core.__version__}, "
        f"azure-keyvault-secrets {azure.keyvault.secrets.__version__}, {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()[0]:.2f}"
    )
    with tempfile.TemporaryDirectory(prefix="kvconfig-bench-") as scratch_name:
        scratch = Path(scratch_name)
        with _servers(scratch) as (port, floor_port, token):
            ca = str(scratch / "certs" / "ca.pem")
            credential = StaticCredential(token)
            emulator_client = SecretClient(f"https://{VAULT}.localhost:{port}", credential, connection_verify=ca)
            floor_client = SecretClient(f"https://{VAULT}.localhost:{floor_port}", credential, connection_verify=ca)
            with emulator_client, floor_client:
                for client in (emulator_client, floor_client):
                    assert client.get_secret(NAME).value == VALUE
                    _sequential(client, max(20, args.ops // 10))  # warm up: connection, challenge, caches
                emulator_rates: list[float] = []
                floor_rates: list[float] = []
                for round_ in range(args.rounds):
                    emulator_rates.append(_sequential(emulator_client, args.ops))
                    floor_rates.append(_sequential(floor_client, args.ops))
                    print(f"round {round_ + 1}: emulator {emulator_rates[-1]:,.0f} ops/s, floor {floor_rates[-1]:,.0f}")
            for label, target in (("emulator", port), ("floor", floor_port)):
                url = f"https://{VAULT}.localhost:{target}"
                errors, rate, latencies = asyncio.run(_concurrent(url, ca, token, args.clients, args.client_ops))
                print(
                    f"{args.clients} concurrent clients x {args.client_ops} calls, {label}: errors={errors} "
                    f"ops_s={rate} p50_ms={_percentile(latencies, 0.5) * 1000:.1f} "
                    f"p99_ms={_percentile(latencies, 0.99) * 1000:.1f}"
                )
        startups = []
        for _ in range(args.starts):
            port = _free_port()
            process = _spawn_emulator(port, scratch / "certs")
            try:
                startups.append(_wait_healthy(port, scratch / "certs", process))
            finally:
                _stop(process)
        port = _free_port()
        fresh = scratch / "fresh-certs"
        process = _spawn_emulator(port, fresh)
        try:
            fresh_startup = _wait_healthy(port, fresh, process)
        finally:
            _stop(process)
        print(
            f"start-up to healthy (python -m kvconfig fake serve): median {statistics.median(startups):.3f} s "
            f"(max {max(startups):.3f} s) with an existing CA; {fresh_startup:.3f} s creating the CA"
        )
    sdk = statistics.median(emulator_rates)
    floor_rate = statistics.median(floor_rates)
    print(f"emulator: sdk_ops_s={sdk:.0f} floor_ops_s={floor_rate:.0f} ratio={sdk / floor_rate:.2f}")


if __name__ == "__main__":
    main()
