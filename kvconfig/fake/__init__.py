"""kvconfig's fake Azure Key Vault: an in-memory, REST-faithful service the official SDK clients talk to in-process.

Layers, each knowing only the one below: state (``_state``), operations (``_secrets`` ...), the REST router
(``_router``), and adapters (azure-core transports, httpx transports, ``patch()``, the ASGI app and the loopback
HTTPS emulator).
"""

from __future__ import annotations

from kvconfig.errors import FakeVaultNotImplementedError
from kvconfig.fake._access import AccessPolicy, NetworkRules, RoleAssignment, VaultAccess
from kvconfig.fake._api_versions import API_VERSIONS
from kvconfig.fake._asgi import FakeKeyVaultApp, asgi_app
from kvconfig.fake._audit import AuditEvent, AuditLog
from kvconfig.fake._clock import Clock, ManualClock, SystemClock
from kvconfig.fake._clouds import VaultDomain, loopback_domains
from kvconfig.fake._emulator import EmulatorServer
from kvconfig.fake._errors import ServiceError
from kvconfig.fake._events import EventGridEvent, EventHub, EventSubscription, Webhook, WebhookValidationError
from kvconfig.fake._faults import ConnectionFault, Fault
from kvconfig.fake._roles import RoleDefinition
from kvconfig.fake._router import RequestRecord
from kvconfig.fake._seed import SeedError
from kvconfig.fake._service import FakeKeyVault
from kvconfig.fake._state import RandomIds, SequentialIds, Vault, VaultProperties
from kvconfig.fake._tokens import FakeAsyncCredential, FakeCredential, Identity
from kvconfig.fake._transport import FakeAsyncTransport, FakeTransport
from kvconfig.fake._wire import FakeRequest, FakeResponse

__all__ = [
    "API_VERSIONS",
    "AccessPolicy",
    "AuditEvent",
    "AuditLog",
    "Clock",
    "ConnectionFault",
    "EmulatorServer",
    "EventGridEvent",
    "EventHub",
    "EventSubscription",
    "FakeAsyncCredential",
    "FakeAsyncTransport",
    "FakeCredential",
    "FakeKeyVault",
    "FakeKeyVaultApp",
    "FakeRequest",
    "FakeResponse",
    "FakeTransport",
    "FakeVaultNotImplementedError",
    "Fault",
    "Identity",
    "ManualClock",
    "NetworkRules",
    "RandomIds",
    "RequestRecord",
    "RoleAssignment",
    "RoleDefinition",
    "SeedError",
    "SequentialIds",
    "ServiceError",
    "SystemClock",
    "Vault",
    "VaultAccess",
    "VaultDomain",
    "VaultProperties",
    "Webhook",
    "WebhookValidationError",
    "asgi_app",
    "loopback_domains",
]
