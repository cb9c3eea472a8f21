"""kvconfig.fleet: resolving as one of many replicas.

* :class:`Fleet`: pass to ``SecretResolver(fleet=...)``; composes the parts below.
* :class:`StartupPolicy`: keep reading through throttling (429) until a start-up deadline, with jittered waits.
* :class:`VaultBudget`: a client-side token bucket per vault, shared by the process.
* :class:`RedisSharedCache`: a cache tier shared by the replicas on Redis, holding only sealed values, with
  single-flight leases and an invalidation channel (``pip install "kvconfig[redis]"``); its data key is re-wrapped
  (``rewrap``) or replaced (``rotate_data_key``), reporting a :class:`DataKeyChange` or raising :class:`DataKeyError`.
* :func:`fleet_from_environment`, :func:`resolver_from_environment`: the above from ``KVCONFIG_REDIS_URL``,
  ``KVCONFIG_REDIS_KEK``, ``KVCONFIG_REDIS_NAMESPACE`` and ``KVCONFIG_FLEET_REPLICAS`` (a bad one raises
  :class:`FleetEnvironmentError`); what they open is closed with the fleet.

See docs/fleet.md.
"""

from __future__ import annotations

from kvconfig.fleet.budget import BudgetPolicy, VaultBudget
from kvconfig.fleet.coordinator import Fleet
from kvconfig.fleet.environment import FleetEnvironmentError, fleet_from_environment, resolver_from_environment
from kvconfig.fleet.redis_cache import RedisSharedCache
from kvconfig.fleet.rotation import DataKeyChange, DataKeyError
from kvconfig.fleet.startup import StartupPolicy, ThrottledPastDeadline

__all__ = [
    "BudgetPolicy",
    "DataKeyChange",
    "DataKeyError",
    "Fleet",
    "FleetEnvironmentError",
    "RedisSharedCache",
    "StartupPolicy",
    "ThrottledPastDeadline",
    "VaultBudget",
    "fleet_from_environment",
    "resolver_from_environment",
]
