"""Inner pytest sessions for the plugin's tests: an application module that builds its own SDK clients, and an ini
file as a user's project would have."""

from __future__ import annotations

# Imported here so that pytester's in-process runs (which drop modules imported inside them) need not import the SDK
# again for every inner session.
import azure.identity
import azure.identity.aio
import azure.keyvault.certificates
import azure.keyvault.keys
import azure.keyvault.secrets
import azure.keyvault.secrets.aio  # noqa: F401
import pytest

# The application code under test: it builds its own clients and credential, as production code does.
APP = """
from azure.identity import DefaultAzureCredential
from azure.keyvault.certificates import CertificateClient
from azure.keyvault.keys import KeyClient
from azure.keyvault.secrets import SecretClient


def read_secret(vault_url, name):
    with SecretClient(vault_url, DefaultAzureCredential()) as client:
        return client.get_secret(name).value


def read_key(vault_url, name):
    with KeyClient(vault_url, DefaultAzureCredential()) as client:
        return client.get_key(name)


def read_certificate(vault_url, name):
    with CertificateClient(vault_url, DefaultAzureCredential()) as client:
        return client.get_certificate(name)
"""


@pytest.fixture
def app(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(app=APP)
    # hypothesis's plugin would be imported afresh by every inner session: it is not what these tests are about.
    pytester.makeini(
        "[pytest]\n"
        "addopts = -p no:cacheprovider -p no:hypothesispytest\n"
        "filterwarnings = error\n"
        "asyncio_default_fixture_loop_scope = function\n"
    )
    return pytester
