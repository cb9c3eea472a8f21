"""Event Grid events, as Key Vault publishes them: schema, in-process subscribers and webhooks.

Facts (Microsoft's "Azure Key Vault as Event Grid source"): the event types below; the Event Grid schema envelope
(``id``, ``topic`` = the vault's resource id, ``subject`` = the object name, ``eventType``, ``eventTime``, ``data``,
``dataVersion`` "1", ``metadataVersion`` "1"); ``data`` members ``Id``, ``VaultName``, ``ObjectType``, ``ObjectName``,
``Version``, ``NBF``, ``EXP`` (epoch seconds or null); NearExpiry fires 30 days before ``exp``, for the current
version. Webhooks first get Event Grid's ``Microsoft.EventGrid.SubscriptionValidationEvent`` and must answer
``{"validationResponse": <validationCode>}``; deliveries carry the ``aeg-event-type`` header.

When events fire:

* ``*NewVersionCreated``: after a successful SetSecret, CreateKey, ImportKey, RotateKey, ImportCertificate or
  MergeCertificate (from the object id the operation returned). Certificates issued later by a pending operation
  and versions made outside those operations are announced by calling :meth:`EventHub.object_changed`.
* ``*NearExpiry`` / ``*Expired``: when time acts on a vault (before every request to it, and on ``fake.tick()`` /
  ``fake.advance(...)``), once per version; a jump past ``exp`` fires NearExpiry then Expired.
* ``VaultAccessPolicyChanged``: when an access policy is set or removed.

Delivery is synchronous, in publish order, exactly once per subscriber (a failing webhook delivery is recorded in
``webhook.failures`` and retried up to ``max_delivery_attempts`` times, never re-delivered later).
"""

from __future__ import annotations

import math
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from kvconfig.fake.core.router import RequestRecord
from kvconfig.fake.core.routing import ServiceHost
from kvconfig.fake.core.state import REVISION

if TYPE_CHECKING:
    import httpx

    from kvconfig.fake.core.state import Vault

__all__ = [
    "EVENT_TYPES",
    "NEAR_EXPIRY_SECONDS",
    "EventGridEvent",
    "EventHub",
    "EventSubscription",
    "Webhook",
    "WebhookValidationError",
]

_PREFIX = "Microsoft.KeyVault."
EVENT_TYPES: tuple[str, ...] = (
    *(
        f"{_PREFIX}{kind}{what}"
        for kind in ("Certificate", "Key", "Secret")
        for what in ("NewVersionCreated", "NearExpiry", "Expired")
    ),
    f"{_PREFIX}VaultAccessPolicyChanged",
)
VALIDATION_EVENT_TYPE = "Microsoft.EventGrid.SubscriptionValidationEvent"
NEAR_EXPIRY_SECONDS = 30 * 86400

_NEW_VERSION_OPERATIONS = frozenset(
    {"SetSecret", "CreateKey", "ImportKey", "RotateKey", "ImportCertificate", "MergeCertificate"}
)
_OBJECT_TYPES = {"secrets": "Secret", "keys": "Key", "certificates": "Certificate"}
# Stores in Vault.stores, by the names the keys and certificates modules may use.
_STORE_KINDS = {"keys": "Key", "key": "Key", "certificates": "Certificate", "certificate": "Certificate"}


@dataclass
class _ExpiryWatch:
    """Per vault: the expiry events published so far, and what the last scan for them saw.

    ``seen`` is (REVISION.value when that scan began, the near_expiry_seconds it used, the earliest NearExpiry/Expired
    instant it saw ahead), replaced as one tuple: two scans finishing at once each leave a consistent record, never
    one scan's revision with another's instant (which could skip an event until something else changed).
    """

    notified: set[tuple[str, str, str, str]] = field(default_factory=set)
    seen: tuple[int, int, float] = (-1, NEAR_EXPIRY_SECONDS, -math.inf)


class WebhookValidationError(ValueError):
    """A webhook did not complete Event Grid's subscription validation handshake; it was not subscribed."""


def _event_time(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0Z"


@dataclass(frozen=True)
class EventGridEvent:
    """One event in the Event Grid schema. :meth:`to_dict` is what a webhook receives (inside a JSON array)."""

    id: str
    topic: str
    subject: str
    event_type: str
    event_time: str
    data: dict[str, Any]
    data_version: str = "1"
    metadata_version: str = "1"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "topic": self.topic,
            "subject": self.subject,
            "eventType": self.event_type,
            "eventTime": self.event_time,
            "data": dict(self.data),
            "dataVersion": self.data_version,
            "metadataVersion": self.metadata_version,
        }


@dataclass
class EventSubscription:
    """An in-process subscriber: ``callback(event)`` for matching events."""

    callback: Callable[[EventGridEvent], None]
    event_types: frozenset[str] | None = None
    vault: str | None = None
    _owner: EventHub | None = field(default=None, repr=False)

    def matches(self, event: EventGridEvent) -> bool:
        if self.event_types is not None and event.event_type not in self.event_types:
            return False
        return self.vault is None or event.data.get("VaultName") == self.vault

    def deliver(self, event: EventGridEvent) -> None:
        self.callback(event)

    def remove(self) -> None:
        if self._owner is not None:
            self._owner.unsubscribe(self)


@dataclass
class Webhook(EventSubscription):
    """A webhook subscription: events are POSTed (one per request, as a JSON array) with an httpx transport."""

    url: str = ""
    transport: httpx.BaseTransport | None = field(default=None, repr=False)
    max_delivery_attempts: int = 1
    delivered: list[EventGridEvent] = field(default_factory=list)
    failures: list[tuple[EventGridEvent, str]] = field(default_factory=list)

    def deliver(self, event: EventGridEvent) -> None:
        last = ""
        for _ in range(max(1, self.max_delivery_attempts)):
            try:
                response = self._post([event.to_dict()], "Notification")
            except Exception as exc:  # a webhook failure must never break the request that caused the event
                last = f"{type(exc).__name__}: {exc}"
                continue
            if 200 <= response.status_code < 300:
                self.delivered.append(event)
                return
            last = f"HTTP {response.status_code}"
        self.failures.append((event, last))

    def _post(self, body: list[dict[str, Any]], kind: str) -> httpx.Response:
        import httpx

        with httpx.Client(transport=self.transport, timeout=10.0) as client:
            return client.post(self.url, json=body, headers={"aeg-event-type": kind})

    def validate(self, topic: str, now: float) -> None:
        code = str(uuid.uuid4()).upper()
        handshake = {
            "id": str(uuid.uuid4()),
            "topic": topic,
            "subject": "",
            "data": {"validationCode": code},
            "eventType": VALIDATION_EVENT_TYPE,
            "eventTime": _event_time(now),
            "metadataVersion": "1",
            "dataVersion": "2",
        }
        try:
            response = self._post([handshake], "SubscriptionValidation")
        except Exception as exc:
            raise WebhookValidationError(f"The webhook {self.url} could not be reached: {exc}") from exc
        answer: Any = None
        if response.status_code == 200:
            try:
                answer = response.json()
            except ValueError:
                answer = None
        received = (
            {key.lower(): value for key, value in answer.items()}.get("validationresponse")
            if isinstance(answer, dict)
            else None
        )
        if received != code:
            raise WebhookValidationError(
                f"The webhook {self.url} did not complete Event Grid's validation handshake: it must answer 200 with "
                f'{{"validationResponse": "<validationCode>"}} (got HTTP {response.status_code}).'
            )


class EventHub:
    """The fake's Event Grid system topics (one per vault): publishes Key Vault events to subscribers."""

    _STATE = "events"

    def __init__(self, service: ServiceHost) -> None:
        self._service = service
        self._subscriptions: list[EventSubscription] = []
        self._published: list[EventGridEvent] = []
        # One re-entrant lock serialises publishing and delivery, so every subscriber sees the same order, and a
        # subscriber may itself call the fake.
        self._lock = threading.RLock()
        self.near_expiry_seconds = NEAR_EXPIRY_SECONDS

    # -- subscribing -----------------------------------------------------------------------------------------------

    def subscribe(
        self,
        callback: Callable[[EventGridEvent], None],
        *,
        event_types: Iterable[str] | None = None,
        vault: str | None = None,
    ) -> EventSubscription:
        """Call ``callback(event)`` for each matching event (types by full or short name, ``"SecretExpired"``)."""
        subscription = EventSubscription(callback, _types(event_types), vault.lower() if vault else None, self)
        with self._lock:
            self._subscriptions.append(subscription)
        return subscription

    def add_webhook(
        self,
        url: str,
        *,
        transport: httpx.BaseTransport | None = None,
        event_types: Iterable[str] | None = None,
        vault: str | None = None,
        max_delivery_attempts: int = 1,
    ) -> Webhook:
        """Subscribe a webhook after Event Grid's validation handshake (raises :class:`WebhookValidationError`).

        Pass an httpx transport that serves ``url`` (``httpx.MockTransport``, ``httpx.ASGITransport`` is async-only
        so wrap an ASGI app with a sync transport): the fake never opens real network connections by itself.
        """
        webhook = Webhook(
            callback=lambda _event: None,
            event_types=_types(event_types),
            vault=vault.lower() if vault else None,
            _owner=self,
            url=url,
            transport=transport,
            max_delivery_attempts=max_delivery_attempts,
        )
        topic = self._service.vault(vault).properties.resource_id if vault else "/subscriptions/kvconfig-fake"
        webhook.validate(topic, self._service.clock.now())
        with self._lock:
            self._subscriptions.append(webhook)
        return webhook

    def unsubscribe(self, subscription: EventSubscription) -> None:
        with self._lock:
            self._subscriptions = [item for item in self._subscriptions if item is not subscription]

    # -- what was published ----------------------------------------------------------------------------------------

    @property
    def published(self) -> list[EventGridEvent]:
        """Every event published so far, in order."""
        with self._lock:
            return list(self._published)

    def clear(self) -> None:
        with self._lock:
            self._published.clear()

    # -- publishing ------------------------------------------------------------------------------------------------

    def publish(self, vault: Vault, event_type: str, data: dict[str, Any], subject: str) -> EventGridEvent:
        full_type = event_type if event_type.startswith(_PREFIX) else _PREFIX + event_type
        event = EventGridEvent(
            id=str(uuid.uuid4()),
            topic=vault.properties.resource_id,
            subject=subject,
            event_type=full_type,
            event_time=_event_time(self._service.clock.now()),
            data=data,
        )
        with self._lock:
            self._published.append(event)
            targets = [item for item in self._subscriptions if item.matches(event)]
            for target in targets:
                target.deliver(event)
        return event

    def object_changed(
        self, vault: Vault, object_type: str, name: str, version: str, *, nbf: int | None, exp: int | None
    ) -> EventGridEvent:
        """Announce a new version (``object_type`` ``Secret``, ``Key`` or ``Certificate``): for the keys and
        certificates modules when a version appears outside the operations detected automatically."""
        data = self._data(vault, object_type, name, version, nbf, exp)
        return self.publish(vault, f"{object_type}NewVersionCreated", data, name)

    @staticmethod
    def _data(
        vault: Vault, object_type: str, name: str, version: str, nbf: int | None, exp: int | None
    ) -> dict[str, Any]:
        collection = {"Secret": "secrets", "Key": "keys", "Certificate": "certificates"}[object_type]
        return {
            "Id": f"{vault.url}/{collection}/{name}/{version}",
            "VaultName": vault.name,
            "ObjectType": object_type,
            "ObjectName": name,
            "Version": version,
            "NBF": nbf,
            "EXP": exp,
        }

    def access_policy_changed(self, vault: Vault) -> None:
        data = {
            "Id": vault.url,
            "VaultName": vault.name,
            "ObjectType": "Vault",
            "ObjectName": vault.name,
            "Version": "",
            "NBF": None,
            "EXP": None,
        }
        self.publish(vault, "VaultAccessPolicyChanged", data, vault.name)

    # -- detection: the router listener and the tick hook ----------------------------------------------------------

    def on_request(self, record: RequestRecord) -> None:
        """Listener: a successful operation that made a new version publishes ``<Type>NewVersionCreated``."""
        if record.operation not in _NEW_VERSION_OPERATIONS or not 200 <= record.status < 300 or not record.object_id:
            return
        parts = urlsplit(record.object_id)
        segments = parts.path.strip("/").split("/")
        if len(segments) != 3 or segments[0] not in _OBJECT_TYPES:
            return
        collection, name, version = segments
        host = (parts.hostname or "").lower()
        host = host if parts.port in (None, 443) else f"{host}:{parts.port}"
        vault = self._service.locate_existing_vault(host)
        if vault is None:
            return
        nbf, exp = _validity(vault, collection, name, version)
        self.object_changed(vault, _OBJECT_TYPES[collection], name, version, nbf=nbf, exp=exp)

    def on_tick(self, service: ServiceHost, vault: Vault, now: float) -> None:
        """Tick hook: publish NearExpiry/Expired for current versions whose time has come (once each).

        It runs before every request, so it scans the vault's current versions only when something may be due: an
        object changed since the last scan (:data:`~kvconfig.fake.core.state.REVISION` moved) or the clock reached the
        earliest NearExpiry/Expired instant that scan saw ahead. Otherwise every event due now was published then.
        """
        window = self.near_expiry_seconds
        watch = vault.extensions.get(self._STATE)
        if isinstance(watch, _ExpiryWatch):
            revision_seen, window_seen, next_due_seen = watch.seen
            if revision_seen == REVISION.value and now < next_due_seen and window_seen == window:
                return
        watch = vault.extension(self._STATE, _ExpiryWatch)
        assert isinstance(watch, _ExpiryWatch)
        # Read before the objects: a change made during the scan leaves another value, so the next tick scans again.
        revision = REVISION.value
        next_due = math.inf
        due: list[tuple[str, str, str, int | None, int]] = []
        with vault.lock:
            stores: list[tuple[str, Any]] = [("Secret", vault.secrets)]
            stores += [(_STORE_KINDS[kind], store) for kind, store in vault.stores.items() if kind in _STORE_KINDS]
            for object_type, store in stores:
                for obj in store:
                    version = obj.versions.get(obj.latest)
                    attrs = getattr(version, "attributes", None)
                    exp = getattr(attrs, "exp", None)
                    if exp is None:
                        continue
                    near = exp - window
                    if now < near:
                        next_due = min(next_due, near)
                        continue
                    if now < exp:
                        next_due = min(next_due, exp)
                    due.append((object_type, obj.name, obj.latest, getattr(attrs, "nbf", None), exp))
        for object_type, name, version, nbf, exp in sorted(due, key=lambda item: (item[4], item[0], item[1])):
            data = self._data(vault, object_type, name, version, nbf, exp)
            for what, when in (("NearExpiry", exp - window), ("Expired", exp)):
                key = (object_type, name.lower(), version, what)
                # Checked and marked under the hub's lock: two threads ticking the same vault publish it once.
                with self._lock:
                    if now >= when and key not in watch.notified:
                        watch.notified.add(key)
                        self.publish(vault, f"{object_type}{what}", data, name)
        # Remembered only now: a subscriber calling the fake from a delivery above ticks this vault again, and that
        # tick must still publish what this one has not reached yet, in order, as it did before there was a skip.
        watch.seen = (revision, window, next_due)

    def __repr__(self) -> str:
        return f"EventHub({len(self._subscriptions)} subscriptions, {len(self._published)} published)"


def _types(event_types: Iterable[str] | None) -> frozenset[str] | None:
    if event_types is None:
        return None
    if isinstance(event_types, str):
        event_types = [event_types]
    chosen = set()
    for item in event_types:
        full = item if item.startswith(_PREFIX) else _PREFIX + item
        if full not in EVENT_TYPES:
            raise ValueError(f"{item!r} is not a Key Vault event type; use one of {', '.join(EVENT_TYPES)}.")
        chosen.add(full)
    return frozenset(chosen)


def _validity(vault: Vault, collection: str, name: str, version: str) -> tuple[int | None, int | None]:
    store: Any = vault.secrets if collection == "secrets" else vault.stores.get(collection)
    obj = store.get(name) if store is not None else None
    found = obj.get(version) if obj is not None else None
    attrs = getattr(found, "attributes", None)
    return getattr(attrs, "nbf", None), getattr(attrs, "exp", None)
