"""What ``kvconfig fake serve`` tells its users once it answers: the start-up banner (for people) and the ready
file (JSON, for scripts that started it with ``--port 0``)."""

from __future__ import annotations

import os
import shlex
import ssl
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from kvconfig.fake.appconfig import FakeAppConfiguration
    from kvconfig.fake.serve.emulator import EmulatorServer

__all__ = ["banner", "ready_document"]

IDENTITY_HEADER = "kvconfig"
CONTROL_PATH = "/_kvconfig/"  # the control API (serve/control_api.py)
PORTAL_PATH = "/_kvconfig/portal"  # the read-only portal (serve/portal.py)
STORE_AUDIENCE = "https://azconfig.localhost"  # what the official client asks tokens for, for the emulator's stores


def public_roots() -> str | None:
    """The public roots file (certifi's when installed) to put in the CA bundle next to the emulator's CA."""
    try:
        import certifi
    except ImportError:
        return ssl.get_default_verify_paths().cafile
    return str(certifi.where())


def _vault_urls(server: EmulatorServer) -> dict[str, str]:
    """The seeded vaults by name (``myvault``), with their URLs; vaults on other hosts by host."""
    tail = server.base_url.removeprefix("https://")
    urls: dict[str, str] = {}
    for vault in server.fake.vaults:
        host = vault.properties.host
        name = host.removesuffix(f".{tail}")
        urls[name if "." not in name else host] = f"https://{host}"
    return dict(sorted(urls.items()))


def _store_urls(server: EmulatorServer) -> dict[str, str]:
    """The App Configuration stores by name (``contoso-config``), with their endpoints; empty without stores."""
    if server.appconfig is None:
        return {}
    domain = f".{server.store_domain}"
    stores = cast("FakeAppConfiguration", server.appconfig).stores
    return dict(
        sorted((s.host.removesuffix(domain) if s.host.endswith(domain) else s.host, s.endpoint) for s in stores)
    )


def _stores_part(server: EmulatorServer) -> dict[str, Any]:
    if server.appconfig is None:
        return {}
    return {
        "store_url_template": server.store_url_for("{store}"),
        "stores": _store_urls(server),
        "store_token_resource": STORE_AUDIENCE,
    }


def ready_document(server: EmulatorServer, bundle: str) -> dict[str, Any]:
    """The ready file's content: where everything is, no secret (tokens are fetched, not written)."""
    return {
        "pid": os.getpid(),
        "host": server.host,
        "port": server.port,
        "url": server.base_url,
        "vault_url_template": server.url_for("{vault}"),
        "vaults": _vault_urls(server),
        "challenge_resource": server.resource,
        "ca_file": str(server.ca_path),
        "ca_bundle": bundle,
        "tenant_id": server.fake.tenant_id,
        "authority": server.authority,
        "identity_endpoint": f"{server.base_url}/msi/token",
        "identity_header": IDENTITY_HEADER,
        "token_url": f"{server.base_url}/_kvconfig/token",
        "health_url": f"{server.base_url}/_kvconfig/health",
        "control_url": f"{server.base_url}{CONTROL_PATH}",
        "portal_url": f"{server.base_url}{PORTAL_PATH}",
        "data_dir": str(server.data_dir) if server.data_dir is not None else None,
        "proxy_url": server.proxy_url,
        **_stores_part(server),
    }


def banner(server: EmulatorServer, bundle: str, *, localhost_resolves: bool) -> str:
    """The start-up banner: every address and every step a client in any language needs."""
    ca = str(server.ca_path)
    port = server.port
    tenant = server.fake.tenant_id
    vaults = _vault_urls(server)
    proxy = server.proxy_url
    lines = [
        f"kvconfig fake Key Vault on {server.host}:{port} (Ctrl-C to stop)",
        f"  vaults     {server.url_for('<vault>')}  (any name is a vault; challenge resource {server.resource})",
        *(f"             {name:<12} {url}" for name, url in vaults.items()),
    ]
    if proxy is not None:
        lines += [
            f"  tunnel     export HTTPS_PROXY={proxy}   (no *.localhost name resolution needed; keep the vault URLs,",
            "             and keep localhost out of NO_PROXY)",
        ]
    elif not localhost_resolves:
        lines.append(
            "  note       *.localhost names do not resolve on this machine: restart with --tunnel-port PORT and set "
            "HTTPS_PROXY, or add '127.0.0.1 <vault>.localhost' to the hosts file."
        )
    lines += [
        f"  CA         {ca}",
        f"  bundle     {bundle}   (public roots + this CA: real Azure hosts keep working)",
        "  trust it   Python   export REQUESTS_CA_BUNDLE=<bundle> SSL_CERT_FILE=<bundle>, or connection_verify=<CA>",
        "             Node     export NODE_EXTRA_CA_CERTS=<CA>   (before node starts)",
        "             .NET     export SSL_CERT_FILE=<bundle>   (Linux; or add the CA to the machine's trusted roots)",
        "             Java     keytool -importcert -noprompt -alias kvconfig-emulator -file <CA> -keystore "
        "emulator.jks -storepass changeit; java -Djavax.net.ssl.trustStore=emulator.jks ...",
        "             Go       export SSL_CERT_FILE=<bundle>",
        "             curl     curl --cacert <CA> ...",
        f"  tenant     {tenant}   (Entra ID endpoints: authority {server.authority})",
        f"  identity   export IDENTITY_ENDPOINT={server.base_url}/msi/token IDENTITY_HEADER={IDENTITY_HEADER}"
        "   (managed identity: DefaultAzureCredential in every SDK)",
        f"             ClientSecretCredential('{tenant}', '<client-id>', '<any secret>', "
        f"authority='{server.authority}', disable_instance_discovery=True)",
        f"  token      curl --cacert <CA> '{server.base_url}/_kvconfig/token?identity=app'   "
        f"(or: kvconfig fake token --identity app --port {port})",
        "             any bearer token works while no access control is set (anonymous caller)",
        f"  control    {server.base_url}{CONTROL_PATH}   (JSON: clock, faults, throttling, seed, dump, audit, "
        "events, vaults; loopback only)",
        f"  portal     {server.base_url}{PORTAL_PATH}   (read-only, in a browser; loopback only)",
    ]
    if server.data_dir is not None:
        lines.append(f"  data       {server.data_dir}   (every acknowledged write survives a restart)")
    if server.appconfig is not None:
        lines += [
            f"  stores     {server.store_url_for('<store>')}  (App Configuration; any name is a store; tokens for "
            f"{STORE_AUDIENCE})",
            *(f"             {name:<12} {url}" for name, url in _store_urls(server).items()),
        ]
    return "\n".join(lines).replace("<CA>", shlex.quote(ca)).replace("<bundle>", shlex.quote(bundle))
