"""A fake worth looking at, for the portal's tests: a vault arranged through the official SDK clients (secrets with
versions, a key, a certificate, a soft-deleted secret), a hostile secret whose name, tags and content type are markup,
an active fault, an Event Grid event, audit records naming their caller, and a clock moved two days ahead; when the
emulator serves App Configuration, a store with a labelled key-value, a hostile key and a locked Key Vault reference.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import cast

from azure.core.exceptions import HttpResponseError
from azure.keyvault.certificates import CertificateClient, CertificatePolicy
from azure.keyvault.keys import KeyClient
from azure.keyvault.secrets import SecretClient

from kvconfig.fake import FakeKeyVault
from kvconfig.fake.appconfig import FakeAppConfiguration
from kvconfig.fake.serve.emulator import EmulatorServer

VALUE = "portal-s3cret-7f1c9e"
"""The value of ``db-password``'s newest version: it must never be in a page's source before a click."""
OLD_VALUE = "portal-old-2b8d41"
XSS_NAME = "<script>window.kvPwned=1</script>"
XSS_TAG = "<img src=x onerror=window.kvPwned=2>"
XSS_CONTENT_TYPE = '"><script>window.kvPwned=3</script>'
STORE = "shop-config"
STORE_VALUE = "portal-kv-9d3e5a"
"""The value of the key-value ``app:greeting`` (label ``prod``): never in a page's source before a click."""
XSS_KEY = "<script>window.kvPwned=4</script>"
TOKEN_META = re.compile(r'<meta name="kvconfig-portal-token" content="([^"]+)">')


@dataclass(frozen=True)
class Arranged:
    vault_host: str
    version: str
    old_version: str


def arrange(fake: FakeKeyVault, server: EmulatorServer) -> Arranged:
    """Fill ``fake`` (served by ``server``, on a ManualClock) the way the portal tests expect."""
    url = server.url_for("shop")
    host = url.removeprefix("https://")
    options = {"transport": fake.transport(), "retry_total": 0}
    with SecretClient(url, fake.credential("alice"), **options) as secrets:
        old_version = secrets.set_secret("db-password", OLD_VALUE).properties.version
        version = secrets.set_secret("db-password", VALUE, tags={"team": "payments"}).properties.version
        secrets.set_secret("doomed", "gone-soon")
        secrets.begin_delete_secret("doomed").result()
    with KeyClient(url, fake.credential("alice"), **options) as keys:
        keys.create_rsa_key("signing-key", size=2048)
    with CertificateClient(url, fake.credential("bob"), **options) as certificates:
        certificates.begin_create_certificate("web-tls", CertificatePolicy.get_default(), _polling_interval=0).result()
    fake.set_secret(host, XSS_NAME, "xss-value", tags={XSS_TAG: XSS_TAG}, content_type=XSS_CONTENT_TYPE)
    fake.inject_fault(status=503, operation="GetSecret", vault="shop", times=None)
    # The fault above answers carol's read with 503: the audit log records it.
    with SecretClient(url, fake.credential("carol"), **options) as secrets, contextlib.suppress(HttpResponseError):
        secrets.get_secret("db-password")
    if server.appconfig is not None:
        stores = cast("FakeAppConfiguration", server.appconfig)
        endpoint = server.store_url_for(STORE)
        stores.set(endpoint, "app:greeting", STORE_VALUE, label="prod", tags={"team": "web"})
        stores.set(endpoint, XSS_KEY, "xss-kv-value", content_type=XSS_CONTENT_TYPE)
        reference = stores.set_secret_reference(endpoint, "app:db-password", f"{url}/secrets/db-password")
        with stores.store(endpoint).lock:
            stores.store(endpoint).set_locked(reference, True, now=fake.clock.now())
    fake.advance(days=2)
    assert old_version is not None
    assert version is not None
    return Arranged(vault_host=host, version=version, old_version=old_version)
