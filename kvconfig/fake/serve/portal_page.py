"""The portal's page: the fake's state rendered as HTML, every piece of user input escaped, no value in it.

Rendered on the server from the fake itself (no control API in between): vaults and their properties; secrets, keys
and certificates with every version's attributes and tags; soft-deleted objects and vaults; App Configuration stores
served beside the vaults, with each key-value's label, content type, tags, Key Vault reference target, lock, etag and
last change; the audit log's newest requests with their status and caller; Event Grid events; the clock and the
active faults. Names, keys, labels, tags, content types, callers and fault descriptions are all user input, so each
one goes through :func:`html.escape` (quotes too, as some land in attributes). Secret values are not in the page at
all, nor are key-values' values: each secret version (and each key-value) has a "Reveal" button whose data attributes
name the vault, the secret and the version (the store, the key and the label), and the value comes from the reveal
endpoint (``portal.py``) only when clicked.
Every list is bounded, so a fake holding a million objects still renders a page of reasonable size, saying how many
rows it left out.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Protocol, TypeVar, cast, runtime_checkable

from cryptography.hazmat.primitives import hashes

from kvconfig.fake.certificates.state import CertificateObject, CertificateVersion
from kvconfig.fake.control.audit import AuditEvent, AuditLog
from kvconfig.fake.control.events import EventGridEvent, EventHub
from kvconfig.fake.control.faults import Fault, FaultSet
from kvconfig.fake.core.clock import ManualClock
from kvconfig.fake.core.state import Attributes, ObjectStore, SecretVersion, Vault, Versioned
from kvconfig.fake.keys.store import KeyVersion
from kvconfig.fake.serve.host import ServedService, StoredKeyValue, StoreService, StoreView
from kvconfig.fake.serve.portal_assets import PAGE
from kvconfig.fake.serve.store_control import reference_target

__all__ = ["MAX_AUDIT_ROWS", "MAX_EVENT_ROWS", "MAX_OBJECTS", "MAX_VERSIONS", "PortalSource", "render_page"]

MAX_OBJECTS = 200
"""Objects of one kind shown per vault (live and deleted alike); the rest are counted, not listed."""
MAX_VERSIONS = 10
"""Versions shown per object, newest first."""
MAX_AUDIT_ROWS = 100
MAX_EVENT_ROWS = 100
_MAX_TAGS = 20
_MAX_TEXT = 256

T = TypeVar("T")


@runtime_checkable
class PortalSource(ServedService, Protocol):
    """What the portal reads of a fake, beyond what every adapter sees: its audit log, events, faults and
    soft-deleted vaults (``FakeKeyVault`` is one)."""

    @property
    def audit(self) -> AuditLog: ...

    @property
    def events(self) -> EventHub: ...

    @property
    def faults(self) -> FaultSet: ...

    @property
    def deleted_vaults(self) -> list[Vault]: ...


def render_page(fake: PortalSource, *, token: str, wall_time: float, stores: StoreService | None = None) -> str:
    """The whole portal page for ``fake`` (and the App Configuration ``stores`` served beside it); ``token`` is the
    page's reveal token (it goes in a ``<meta>`` tag)."""
    now = fake.clock.now()
    vaults = sorted(fake.vaults, key=lambda vault: vault.properties.host)
    deleted_vaults = fake.deleted_vaults
    audit = fake.audit.latest(MAX_AUDIT_ROWS)
    events = fake.events.published
    faults = [fault for fault in fake.faults if not fault.exhausted]
    toc = [f'<a href="#vault-{index}">{_e(vault.name)}</a>' for index, vault in enumerate(vaults)]
    served = sorted(stores.stores, key=lambda store: store.host) if stores is not None else []
    toc += [f'<a href="#store-{index}">{_e(store.name)}</a>' for index, store in enumerate(served)]
    toc += ['<a href="#faults">faults</a>', '<a href="#audit">audit log</a>', '<a href="#events">events</a>']
    return PAGE.substitute(
        token=_e(token),
        clock=_clock(fake, now, wall_time),
        tenant=_e(fake.tenant_id),
        toc=" ".join(toc),
        summary=_summary(vaults, deleted_vaults, len(fake.audit), len(faults)),
        vaults="\n".join(_vault(index, vault, now) for index, vault in enumerate(vaults))
        + _deleted_vaults(deleted_vaults)
        + ("" if stores is None else _stores_section(served)),
        faults=_faults(faults),
        audit_count=len(audit),
        audit_total=len(fake.audit),
        audit=_audit(audit),
        event_count=min(len(events), MAX_EVENT_ROWS),
        event_total=len(events),
        events=_events(events[-MAX_EVENT_ROWS:]),
        rendered=_time(wall_time),
    )


# -- pieces ----------------------------------------------------------------------------------------------------------


def _e(value: object) -> str:
    """Escaped text for element content and quoted attributes, cut to a readable length."""
    text = str(value)
    if len(text) > _MAX_TEXT:
        text = text[:_MAX_TEXT] + "…"
    return html.escape(text, quote=True)


def _time(epoch: float | None) -> str:
    if epoch is None:
        return ""
    try:
        moment = datetime.fromtimestamp(epoch, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return _e(epoch)
    # Date and time each keep together; a narrow column breaks between them, never inside either.
    return f'<span class="when"><span>{moment:%Y-%m-%d}</span> <span>{moment:%H:%M:%S}Z</span></span>'


def _clock(fake: ServedService, now: float, wall_time: float) -> str:
    kind = "manual" if isinstance(fake.clock, ManualClock) else "system"
    offset = now - wall_time
    if abs(offset) < 1:
        return f"{_time(now)} <span class='muted'>({kind})</span>"
    direction = "ahead of" if offset > 0 else "behind"
    return f"{_time(now)} <span class='muted'>({kind}, {_span(abs(offset))} {direction} wall time)</span>"


def _span(seconds: float) -> str:
    """``2d 3h``: to the nearest minute past a minute (a page is read, not measured)."""
    if seconds >= 60:
        seconds = round(seconds / 60) * 60
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{minutes}m" if minutes else ""]
    return " ".join(part for part in parts if part) or f"{secs}s"


def _badge(text: str, tone: str = "") -> str:
    return f'<span class="badge {tone}">{_e(text)}</span>'


def _status(attributes: Attributes, now: float) -> str:
    if not attributes.enabled:
        return _badge("disabled", "bad")
    if attributes.exp is not None and now >= attributes.exp:
        return _badge("expired", "bad")
    if attributes.nbf is not None and now < attributes.nbf:
        return _badge("not yet valid", "warn")
    return _badge("enabled", "ok")


def _tags(tags: dict[str, str] | None) -> str:
    if not tags:
        return ""
    shown = [f'<span class="tag">{_e(name)}={_e(value)}</span>' for name, value in list(tags.items())[:_MAX_TAGS]]
    more = len(tags) - _MAX_TAGS
    return "".join(shown) + (f'<span class="more">+{more} more</span>' if more > 0 else "")


def _bounded(items: Sequence[T], limit: int) -> tuple[Sequence[T], int]:
    return items[:limit], max(0, len(items) - limit)


def _more_row(count: int, columns: int, what: str) -> str:
    if count <= 0:
        return ""
    return f'<tr><td colspan="{columns}" class="more">{count} more {what} not shown</td></tr>'


def _table(headings: Iterable[str], rows: str, *, empty: str) -> str:
    if not rows:
        return f'<p class="empty">{_e(empty)}</p>'
    head = "".join(f"<th>{_e(heading)}</th>" for heading in headings)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _versions(obj: Versioned[T]) -> tuple[list[tuple[str, T]], int]:
    newest_first = list(reversed(obj.versions.items()))
    shown, left = _bounded(newest_first, MAX_VERSIONS)
    return list(shown), left


def _name_cell(obj: Versioned[T], first: bool, version_id: str) -> tuple[str, str]:
    name = f'<td class="name">{_e(obj.name)}</td>' if first else "<td></td>"
    current = " " + _badge("current") if version_id == obj.latest else ""
    return name, f'<td class="mono">{_e(version_id)}{current}</td>'


# -- the summary and the vaults --------------------------------------------------------------------------------------


def _summary(vaults: list[Vault], deleted_vaults: list[Vault], audit_total: int, fault_count: int) -> str:
    def count(kind: str) -> int:
        return sum(len(vault.secrets if kind == "secrets" else vault.stores.get(kind, ())) for vault in vaults)

    deleted = sum(len(store.deleted) for vault in vaults for _, store in _stores(vault)) + len(deleted_vaults)
    tiles = [
        ("vaults", len(vaults)),
        ("secrets", count("secrets")),
        ("keys", count("keys")),
        ("certificates", count("certificates")),
        ("deleted", deleted),
        ("requests", audit_total),
        ("active faults", fault_count),
    ]
    body = "".join(
        f'<div class="tile"><div class="n">{n}</div><div class="muted">{_e(t)}</div></div>' for t, n in tiles
    )
    return f'<div class="tiles" id="summary">{body}</div>'


def _vault(index: int, vault: Vault, now: float) -> str:
    props = vault.properties
    badges = [
        _badge(props.kind),
        _badge(props.sku),
        _badge(f"soft delete, {props.retention_days} days" if props.soft_delete else "no soft delete"),
        _badge("RBAC" if props.rbac else "access policies"),
    ]
    if props.purge_protection:
        badges.append(_badge("purge protection", "warn"))
    if vault.access.enforce:
        badges.append(_badge("access control on", "warn"))
    with vault.lock:  # one consistent view of this vault while it is read
        secrets = _secrets(vault, now)
        keys = _keys(vault, now)
        certificates = _certificates(vault, now)
        deleted = _deleted(vault)
    return (
        f'<section class="card vault" id="vault-{index}"><h2>{_e(vault.name)} '
        f'<span class="muted mono">{_e(props.url)}</span></h2>'
        f'<div class="props">{"".join(badges)}</div>'
        f"<h3>Secrets</h3>{secrets}<h3>Keys</h3>{keys}<h3>Certificates</h3>{certificates}"
        f"<h3>Deleted objects</h3>{deleted}</section>"
    )


def _live(store: ObjectStore[T] | None) -> tuple[Sequence[Versioned[T]], int]:
    if store is None:
        return [], 0
    objects = sorted(store.live.values(), key=lambda obj: obj.name.lower())
    return _bounded(objects, MAX_OBJECTS)


def _secrets(vault: Vault, now: float) -> str:
    objects, left = _live(vault.secrets)
    rows: list[str] = []
    for obj in objects:
        versions, more = _versions(obj)
        for position, (version_id, version) in enumerate(versions):
            rows.append(_secret_row(vault, obj, position == 0, version_id, version, now))
        rows.append(_more_row(more, 9, "versions"))
    rows.append(_more_row(left, 9, "secrets"))
    headings = ("name", "version", "status", "created", "updated", "not before", "expires", "content type / tags")
    return _table((*headings, "value"), "".join(rows), empty="No secrets.")


def _secret_row(
    vault: Vault, obj: Versioned[SecretVersion], first: bool, version_id: str, version: SecretVersion, now: float
) -> str:
    name, version_cell = _name_cell(obj, first, version_id)
    attributes = version.attributes
    kind = f"<code>{_e(version.content_type)}</code> " if version.content_type else ""
    reveal = _masked(vault=vault.properties.host, name=obj.name, version=version_id)
    return (
        f'<tr class="{"object" if first else ""}">{name}{version_cell}<td>{_status(attributes, now)}</td>'
        f"<td>{_time(attributes.created)}</td><td>{_time(attributes.updated)}</td><td>{_time(attributes.nbf)}</td>"
        f"<td>{_time(attributes.exp)}</td><td>{kind}{_tags(version.tags)}</td><td>{reveal}</td></tr>"
    )


def _masked(**names: str | None) -> str:
    """A value's cell: dots, and a "Reveal" button whose ``data-*`` attributes say which value (one left out is
    ``null`` in the reveal request: a key-value's null label)."""
    data = " ".join(f'data-{name}="{_e(value)}"' for name, value in names.items() if value is not None)
    return f'<span class="value hidden">••••••</span><button type="button" class="reveal" {data}>Reveal</button>'


def _keys(vault: Vault, now: float) -> str:
    objects, left = _live(vault.stores.get("keys"))
    rows: list[str] = []
    for obj in objects:
        versions, more = _versions(obj)
        for position, (version_id, version) in enumerate(versions):
            if not isinstance(version, KeyVersion):
                continue
            name, version_cell = _name_cell(obj, position == 0, version_id)
            material = version.material
            shape = f"{material.kty} {material.curve or material.size}"
            attributes = version.attributes
            rows.append(
                f'<tr class="{"object" if position == 0 else ""}">{name}{version_cell}<td>{_e(shape)}</td>'
                f"<td>{_e(' '.join(version.key_ops))}</td><td>{_status(attributes, now)}</td>"
                f"<td>{_time(attributes.created)}</td><td>{_time(attributes.exp)}</td><td>{_tags(version.tags)}</td>"
                "</tr>"
            )
        rows.append(_more_row(more, 8, "versions"))
    rows.append(_more_row(left, 8, "keys"))
    headings = ("name", "version", "type", "operations", "status", "created", "expires", "tags")
    return _table(headings, "".join(rows), empty="No keys.")


def _certificates(vault: Vault, now: float) -> str:
    objects, left = _live(vault.stores.get("certificates"))
    rows: list[str] = []
    for obj in objects:
        pending = obj.pending if isinstance(obj, CertificateObject) else None
        versions, more = _versions(obj)
        if pending is not None and pending.in_progress:
            rows.append(
                f'<tr class="object"><td class="name">{_e(obj.name)}</td><td colspan="6">'
                f"{_badge('pending: ' + pending.status, 'warn')} {_e(pending.status_details)}</td></tr>"
            )
        for position, (version_id, version) in enumerate(versions):
            if not isinstance(version, CertificateVersion):
                continue
            first = position == 0 and (pending is None or not pending.in_progress)
            rows.append(_certificate_row(obj, first, version_id, version, now))
        rows.append(_more_row(more, 7, "versions"))
    rows.append(_more_row(left, 7, "certificates"))
    headings = ("name", "version", "subject", "thumbprint (SHA-1)", "status", "valid until", "tags")
    return _table(headings, "".join(rows), empty="No certificates.")


def _certificate_row(obj: Versioned[T], first: bool, version_id: str, version: CertificateVersion, now: float) -> str:
    name, version_cell = _name_cell(obj, first, version_id)
    cert = version.cert
    thumbprint = cert.fingerprint(hashes.SHA1()).hex().upper()  # Key Vault's x5t is a SHA-1 thumbprint
    until = cert.not_valid_after_utc.timestamp()
    return (
        f'<tr class="{"object" if first else ""}">{name}{version_cell}<td>{_e(cert.subject.rfc4514_string())}</td>'
        f'<td class="mono">{thumbprint}</td><td>{_status(version.attributes, now)}</td><td>{_time(until)}</td>'
        f"<td>{_tags(version.tags)}</td></tr>"
    )


def _stores(vault: Vault) -> list[tuple[str, ObjectStore[object]]]:
    """Every object store of a vault, by the singular name of its kind (``secret``, ``key``, ``certificate``)."""
    stores = [("secret", cast("ObjectStore[object]", vault.secrets))]
    return stores + [(kind.rstrip("s"), store) for kind, store in sorted(vault.stores.items())]


def _deleted(vault: Vault) -> str:
    rows: list[str] = []
    for kind, store in _stores(vault):
        objects, left = _bounded(sorted(store.deleted.values(), key=lambda obj: obj.name.lower()), MAX_OBJECTS)
        rows.extend(
            f'<tr><td>{_e(kind)}</td><td class="name">{_e(obj.name)}</td><td>{len(obj.versions)}</td>'
            f"<td>{_time(obj.deleted_date)}</td><td>{_time(obj.scheduled_purge_date)}</td></tr>"
            for obj in objects
        )
        rows.append(_more_row(left, 5, f"deleted {kind}s"))
    return _table(
        ("kind", "name", "versions", "deleted", "scheduled purge"), "".join(rows), empty="Nothing soft-deleted."
    )


def _deleted_vaults(vaults: list[Vault]) -> str:
    if not vaults:
        return ""
    rows = "".join(f'<tr><td class="name">{_e(v.name)}</td><td class="mono">{_e(v.url)}</td></tr>' for v in vaults)
    table = _table(("name", "url"), rows, empty="")
    return f'<section class="card" id="deleted-vaults"><h2>Deleted vaults</h2>{table}</section>'


# -- App Configuration stores ----------------------------------------------------------------------------------------


def _stores_section(stores: list[StoreView]) -> str:
    if not stores:
        empty = '<p class="empty">No App Configuration stores yet.</p>'
        return f'<section class="card" id="stores"><h2>App Configuration stores</h2>{empty}</section>'
    return "\n".join(_store(index, store) for index, store in enumerate(stores))


def _store(index: int, store: StoreView) -> str:
    with store.lock:  # one consistent view of this store while it is read
        items, left = _bounded(store.sorted_items(), MAX_OBJECTS)
        rows = [_key_value_row(store, item) for item in items]
        count, snapshots = len(store.items), len(store.snapshots)
    rows.append(_more_row(left, 8, "key-values"))
    badges = _badge("App Configuration") + _badge(f"{count} key-values") + _badge(f"{snapshots} snapshots")
    headings = ("key", "label", "content type / tags", "Key Vault reference", "locked", "last modified", "etag")
    table = _table((*headings, "value"), "".join(rows), empty="No key-values.")
    return (
        f'<section class="card store" id="store-{index}"><h2>{_e(store.name)} '
        f'<span class="muted mono">{_e(store.endpoint)}</span></h2><div class="props">{badges}</div>'
        f"<h3>Key-values</h3>{table}</section>"
    )


def _key_value_row(store: StoreView, item: StoredKeyValue) -> str:
    label = _e(item.label) if item.label is not None else '<span class="muted">(no label)</span>'
    kind = f"<code>{_e(item.content_type)}</code> " if item.content_type else ""
    target = reference_target(item)
    reference = f'<span class="mono">{_e(target)}</span>' if target is not None else ""
    locked = _badge("locked", "warn") if item.locked else ""
    value = _masked(store=store.host, key=item.key, label=item.label)
    return (
        f'<tr class="object"><td class="name">{_e(item.key)}</td><td>{label}</td><td>{kind}{_tags(dict(item.tags))}'
        f"</td><td>{reference}</td><td>{locked}</td><td>{_time(item.last_modified)}</td>"
        f'<td class="mono">{_e(item.etag)}</td><td>{value}</td></tr>'
    )


# -- faults, audit, events -------------------------------------------------------------------------------------------


def _faults(faults: list[Fault]) -> str:
    rows = []
    for fault in faults:
        what = f"status {fault.status}" if fault.status is not None else (fault.error or "")
        if fault.delay:
            what = f"{what} + {fault.delay:g} s delay".lstrip(" +")
        times = "always" if fault.times is None else f"{fault.hits} of {fault.times}"
        rows.append(
            f"<tr><td>{_badge(what, 'bad')}</td><td>{_e(fault.operation or 'any')}</td>"
            f"<td>{_e(fault.vault or 'any')}</td><td>{_e(fault.identity or 'any')}</td><td>{_e(times)}</td>"
            f"<td>{fault.probability:g}</td><td>{'yes' if fault.predicate is not None else ''}</td></tr>"
        )
    headings = ("fault", "operation", "vault", "identity", "fired", "probability", "predicate")
    return _table(headings, "".join(rows), empty="No active faults.")


def _audit(events: list[AuditEvent]) -> str:
    rows = []
    for event in reversed(events):
        tone = "ok" if 0 < event.status < 400 else "bad"
        status = _badge(str(event.status or event.result_signature), tone)
        caller = _e(event.caller) if event.caller else '<span class="muted">anonymous</span>'
        rows.append(
            f'<tr><td class="mono">{_e(event.time[:19])}</td><td>{_e(event.operation_name)}</td><td>{status}</td>'
            f"<td>{caller} <span class='muted'>{_e(event.caller_ip_address)}</span></td><td>{_e(event.vault)}</td>"
            f"<td>{event.duration_ms} ms</td></tr>"
        )
    headings = ("time (UTC)", "operation", "status", "caller", "vault", "duration")
    return _table(headings, "".join(rows), empty="No requests yet.")


def _events(events: list[EventGridEvent]) -> str:
    rows = []
    for event in reversed(events):
        kind = event.event_type.removeprefix("Microsoft.KeyVault.")
        vault = event.data.get("VaultName", "")
        rows.append(
            f'<tr><td class="mono">{_e(event.event_time[:19])}</td><td>{_badge(kind)}</td><td>{_e(vault)}</td>'
            f'<td class="name">{_e(event.subject)}</td><td class="mono">{_e(event.data.get("Version") or "")}</td></tr>'
        )
    return _table(("time (UTC)", "event", "vault", "object", "version"), "".join(rows), empty="No events yet.")
