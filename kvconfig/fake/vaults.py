"""The fake's vaults: creating, finding, deleting, recovering and purging them, throttling them, and which hosts are
vaults. A part of :class:`~kvconfig.fake.FakeKeyVault` (it inherits these methods), kept apart because it is one
concern with its own state: the vault table, the soft-deleted vaults, and the host families that are vaults.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from kvconfig.fake.control.events import EventHub
from kvconfig.fake.control.throttle import DEFAULT_LIMITS, Throttle, ThrottlePolicy
from kvconfig.fake.core.clock import Clock
from kvconfig.fake.core.clouds import VaultDomain, match_domain, valid_vault_name
from kvconfig.fake.core.identity import Identity
from kvconfig.fake.core.state import Sku, Vault, VaultProperties

__all__ = ["VaultDirectory"]

# How long a request waits for a vault that create_vault is building before answering as for an unknown vault.
_BUILD_WAIT_SECONDS = 5.0


class VaultDirectory:
    """The vault table of a fake Key Vault service (mixed into ``FakeKeyVault``, which sets the state below)."""

    domains: tuple[VaultDomain, ...]
    strict: bool
    tenant_id: str
    # Seconds a soft delete (and a recovery) takes in the vaults this fake makes, unless create_vault gives one.
    deletion_delay: float
    events: EventHub
    _clock: Clock
    _throttle: Throttle
    _vaults: dict[str, Vault]
    _deleted_vaults: dict[str, tuple[Vault, float]]
    # Hosts whose vault create_vault is building: set when it is published (or its creation failed).
    _building: dict[str, threading.Event]
    _lock: threading.Lock

    # -- vaults ----------------------------------------------------------------------------------------------------

    def create_vault(
        self,
        name: str,
        *,
        sku: Sku = "standard",
        soft_delete: bool = True,
        retention_days: int = 90,
        purge_protection: bool = False,
        cloud: str = "vault.azure.net",
        tenant_id: str | None = None,
        rbac: bool = True,
        enforce_access: bool = False,
        access_policies: Mapping[str | Identity, Mapping[str, Iterable[str]]] | None = None,
        network_rules: Mapping[str, Any] | None = None,
        throttling: bool | int | Mapping[str, int] = False,
        location: str = "westus",
        activated: bool = False,
        deletion_delay: float | None = None,
    ) -> Vault:
        """Create a vault with explicit properties; ``name`` is a vault name or a full vault URL.

        ``rbac`` chooses the permission model (Azure RBAC, or legacy access policies with ``rbac=False``);
        ``enforce_access=True`` makes the vault check every caller from the start (otherwise it enforces nothing
        until its first role assignment or access policy); ``access_policies`` maps identities to
        ``{"secrets": [...], "keys": [...], "certificates": [...]}``; ``network_rules`` takes the arguments of
        :meth:`Vault.set_network_rules`; ``throttling`` is ``True`` (the documented limits), a flat ``limit`` for
        every category, or a mapping of category limits. A Managed HSM pool (``cloud="managedhsm.azure.net"``) made
        here is not activated until :meth:`activate_security_domain` (or ``activated=True``); pools made on first use
        are ready to use. ``deletion_delay`` (seconds, default the fake's ``deletion_delay``) is how long a soft
        delete or a recovery takes: meanwhile the object is being deleted or recovered, as in the service
        (docs/fake.md, "The deletion window").
        """
        host = self._host_for(name, cloud)
        located = match_domain(host, self.domains)
        if located is None:
            raise ValueError(f"{name!r} is not a valid vault name or vault URL.")
        vault_name, domain = located
        props = VaultProperties(
            name=vault_name,
            host=host,
            kind=domain.kind,
            sku=sku,
            soft_delete=soft_delete,
            retention_days=retention_days,
            purge_protection=purge_protection,
            tenant_id=tenant_id or self.tenant_id,
            rbac=rbac,
            location=location,
            deletion_delay=self.deletion_delay if deletion_delay is None else deletion_delay,
        )
        with self._lock:
            self._refuse_taken(host, vault_name)
            building = self._building[host] = threading.Event()
        try:
            return self._build_and_publish(
                props,
                domain,
                activated=activated,
                enforce_access=enforce_access,
                access_policies=access_policies,
                network_rules=network_rules,
                throttling=throttling,
            )
        finally:
            with self._lock:
                del self._building[host]
            building.set()

    def _build_and_publish(
        self,
        props: VaultProperties,
        domain: VaultDomain,
        *,
        activated: bool,
        enforce_access: bool,
        access_policies: Mapping[str | Identity, Mapping[str, Iterable[str]]] | None,
        network_rules: Mapping[str, Any] | None,
        throttling: bool | int | Mapping[str, int],
    ) -> Vault:
        # The vault is built whole (access model, policies, firewall, throttling) before it is published in the
        # table: a request that finds it through locate_vault must meet every check its creator asked for, never a
        # vault that enforces nothing yet.
        vault = Vault(props)
        access = vault.access
        access.policy_listeners.append(lambda: self.events.access_policy_changed(vault))
        access.security_domain_activated = domain.kind != "managedhsm" or activated
        if enforce_access:
            access.enforce = True
        for identity, permissions in (access_policies or {}).items():
            vault.set_access_policy(identity, **{kind: list(items) for kind, items in permissions.items()})
        if network_rules is not None:
            vault.set_network_rules(**network_rules)
        if throttling is not False:
            if isinstance(throttling, Mapping):
                self._throttle.configure(vault, self._throttle_policy(None, throttling, 10.0))
            else:
                limit = None if throttling is True else int(throttling)
                self._throttle.configure(vault, self._throttle_policy(limit, None, 10.0))
        with self._lock:
            self._vaults[props.host] = vault
        return vault

    def _refuse_taken(self, host: str, vault_name: str) -> None:
        if host in self._vaults or host in self._building:
            raise ValueError(f"The vault {host} already exists in this fake.")
        if host in self._deleted_vaults:
            raise ValueError(
                f"The vault name {vault_name} is in use by a soft-deleted vault: recover or purge it first."
            )

    def vault(self, name: str, *, cloud: str = "vault.azure.net") -> Vault:
        """The vault with this name or URL, created with default properties if needed (even in strict mode)."""
        host = self._host_for(name, cloud)
        with self._lock:
            found = self._vaults.get(host)
        return found if found is not None else self.create_vault(name, cloud=cloud)

    @property
    def vaults(self) -> list[Vault]:
        with self._lock:
            return list(self._vaults.values())

    def delete_vault(self, name: str, *, cloud: str = "vault.azure.net", soft: bool = False) -> None:
        """Remove a vault and everything in it (later requests to it behave as for an unknown vault).

        By default the vault is gone at once and its name free again (a later use makes a new, empty vault).
        ``soft=True`` deletes it as the service does when soft delete is on: it can be recovered
        (:meth:`recover_vault`) or purged (:meth:`purge_vault`), is purged by itself when its retention period has
        passed, and until then its host answers as an unknown vault and its name cannot be reused.
        """
        host = self._host_for(name, cloud)
        with self._lock:
            vault = self._vaults.pop(host, None)
            if vault is not None and soft and vault.properties.soft_delete:
                self._deleted_vaults[host] = (vault, self._clock.now())

    def recover_vault(self, name: str, *, cloud: str = "vault.azure.net") -> Vault:
        """Bring back a soft-deleted vault with everything in it (KeyError if there is none)."""
        host = self._host_for(name, cloud)
        with self._lock:
            if host not in self._deleted_vaults:
                raise KeyError(f"There is no soft-deleted vault {host} in this fake.")
            vault, _ = self._deleted_vaults.pop(host)
            self._vaults[host] = vault
        return vault

    def purge_vault(self, name: str, *, cloud: str = "vault.azure.net") -> None:
        """Permanently remove a soft-deleted vault (refused under purge protection, as the service does)."""
        host = self._host_for(name, cloud)
        with self._lock:
            if host not in self._deleted_vaults:
                raise KeyError(f"There is no soft-deleted vault {host} in this fake.")
            vault, _ = self._deleted_vaults[host]
            if vault.properties.purge_protection:
                raise ValueError(
                    f"The vault {vault.name} has purge protection: it is purged when its retention period ends."
                )
            del self._deleted_vaults[host]

    @property
    def deleted_vaults(self) -> list[Vault]:
        with self._lock:
            return [vault for vault, _ in self._deleted_vaults.values()]

    def locate_existing_vault(self, host: str) -> Vault | None:
        """The live vault serving ``host``, never creating one."""
        with self._lock:
            return self._vaults.get(host)

    def activate_security_domain(self, name: str, *, cloud: str = "managedhsm.azure.net") -> None:
        """Activate a Managed HSM pool, as downloading its security domain does; key operations work from then on."""
        vault = self.vault(name, cloud=cloud)
        if vault.properties.kind != "managedhsm":
            raise ValueError(f"{vault.name} is a key vault, not a Managed HSM pool: it has no security domain.")
        vault.access.security_domain_activated = True

    # -- throttling ------------------------------------------------------------------------------------------------

    def throttle(
        self,
        vault: str,
        *,
        enabled: bool = True,
        limit: int | None = None,
        limits: Mapping[str, int] | None = None,
        window: float = 10.0,
    ) -> None:
        """Throttle a vault with the service's limits per 10-second window (see kvconfig/fake/control/throttle.py).

        ``limit=5`` gives every category a budget of 5 (handy in tests); ``limits`` overrides some categories
        (``{"secrets": 100}``); ``enabled=False`` turns throttling off.
        """
        target = self.vault(vault)
        if not enabled:
            self._throttle.configure(target, None)
            return
        self._throttle.configure(target, self._throttle_policy(limit, limits, window))

    @staticmethod
    def _throttle_policy(limit: int | None, limits: Mapping[str, int] | None, window: float) -> ThrottlePolicy:
        chosen = dict(DEFAULT_LIMITS)
        if limit is not None:
            chosen = dict.fromkeys(chosen, int(limit))
        chosen.update(limits or {})
        return ThrottlePolicy(chosen, window)

    def locate_vault(self, host: str) -> tuple[Vault, VaultDomain] | None:
        """The vault serving ``host`` (lower case, ``:port`` only when not 443), or None if it cannot exist."""
        located = match_domain(host, self.domains)
        if located is None:
            return None
        _, domain = located
        with self._lock:
            vault = self._vaults.get(host)
            if vault is None and host in self._deleted_vaults:
                return None
            building = self._building.get(host) if vault is None else None
        if building is not None:
            # A request that arrives while its vault is being built waits for it (never meets a vault whose access
            # settings do not apply yet, and never makes an open one in its place); building takes microseconds.
            building.wait(_BUILD_WAIT_SECONDS)
            with self._lock:
                vault = self._vaults.get(host)
                if vault is None and host in self._building:
                    return None  # still not built: answer as for a vault that does not exist (yet)
        if vault is None:
            if self.strict:
                return None
            try:
                vault = self.create_vault(host, activated=True)
            except ValueError:
                # Another thread made it first, or is making it now: wait until it is published, then use it.
                with self._lock:
                    building = self._building.get(host)
                if building is not None:
                    building.wait(_BUILD_WAIT_SECONDS)
                with self._lock:
                    vault = self._vaults.get(host)
                if vault is None:
                    return None
        return vault, domain

    def add_domains(self, *domains: VaultDomain) -> None:
        """Make more host families vaults, ahead of the others (e.g. the emulator's ``<name>.localhost:<port>``)."""
        with self._lock:
            new = tuple(domain for domain in domains if domain not in self.domains)
            if new:
                self.domains = (*new, *self.domains)

    @staticmethod
    def _host_for(name: str, cloud: str) -> str:
        text = name.strip().lower()
        if "://" in text:
            text = text.split("://", 1)[1]
        text = text.split("/", 1)[0]
        if text.endswith(":443"):
            text = text[:-4]
        if "." not in text:
            if not valid_vault_name(text):
                raise ValueError(
                    f"{name!r} is not a valid vault name: use 3-24 letters, digits and single hyphens, starting "
                    "with a letter."
                )
            text = f"{text}.{cloud}"
        return text
