"""kvconfig's fake Azure App Configuration store: key-values, labels, locks, revisions, snapshots and Key Vault
references, served to the official ``azure-appconfiguration`` clients and the provider in-process.

Layers as in the fake Key Vault: state (``state``, ``filters``), operations (``operations``), the REST router with its
authentication (``router``, ``auth``, ``errors``), and the service (``service``) the transports serve.
"""

from __future__ import annotations

from kvconfig.fake.appconfig.errors import AppConfigError
from kvconfig.fake.appconfig.service import KEYVAULT_REF_CONTENT_TYPE, FakeAppConfiguration
from kvconfig.fake.appconfig.state import KeyValue, Store

__all__ = ["KEYVAULT_REF_CONTENT_TYPE", "AppConfigError", "FakeAppConfiguration", "KeyValue", "Store"]
