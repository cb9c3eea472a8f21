"""kvconfig's fake Azure Key Vault: an in-memory, REST-faithful service the official SDK clients talk to in-process.

The public names are the ones below (``__all__``); the sub-packages are the house they live in, by wing and layer
(see docs/architecture.md): ``core`` (state, wire, errors, the router), ``control`` (tokens, access, audit,
throttling, faults, events), ``secrets``, ``keys`` and ``certificates`` (one per object kind), ``serve`` (transports,
the ASGI app, the emulator, ``patch()``), and :class:`FakeKeyVault` on top, composing them.
"""

from __future__ import annotations

from kvconfig.errors import FakeVaultNotImplementedError
from kvconfig.fake.control.audit import AuditEvent, AuditLog
from kvconfig.fake.control.events import EventGridEvent, EventHub, EventSubscription, Webhook, WebhookValidationError
from kvconfig.fake.control.faults import Fault
from kvconfig.fake.control.tokens import FakeAsyncCredential, FakeCredential
from kvconfig.fake.core.api_versions import API_VERSIONS
from kvconfig.fake.core.clock import Clock, ManualClock, SystemClock
from kvconfig.fake.core.clouds import VaultDomain, loopback_domains
from kvconfig.fake.core.errors import ServiceError
from kvconfig.fake.core.identity import Group, Identity
from kvconfig.fake.core.permissions import AccessPolicy, NetworkRules, RoleAssignment, VaultAccess
from kvconfig.fake.core.records import RequestRecord
from kvconfig.fake.core.roles import RoleDefinition
from kvconfig.fake.core.seeding import SeedError
from kvconfig.fake.core.state import RandomIds, SequentialIds, Vault, VaultProperties
from kvconfig.fake.core.wire import ConnectionFault, FakeRequest, FakeResponse
from kvconfig.fake.serve.asgi import FakeKeyVaultApp, asgi_app
from kvconfig.fake.serve.emulator import EmulatorServer
from kvconfig.fake.serve.transport import FakeAsyncTransport, FakeTransport
from kvconfig.fake.service import FakeKeyVault

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
    "Group",
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
