"""Snapshots of the fake's state as bytes: one vault (with versions, soft-deleted objects, keys' private material,
certificates, policies, roles, throttling) or one service-level object (the certificate authority), and back.

The state is a graph of the wings' own dataclasses, several with ``cryptography`` objects inside (private keys,
certificates, CSRs). Writing a schema per class would be a second copy of every wing's state to keep in step, so a
snapshot is a pickle with three rules of its own:

- ``cryptography`` objects are stored as DER (PKCS #8 for private keys, SubjectPublicKeyInfo, X.509, PKCS #10) and
  locks as fresh locks: nothing platform- or process-bound is written;
- what belongs to the running process is left out: the vault's access-policy listeners (wired again when the vault
  is adopted) and the Event Grid expiry watch (its revision numbers mean nothing in another process);
- loading is restricted (the ``pickle`` documentation's "restricting globals"): only classes of the fake's state
  wings and the reconstructors below can be named, so a data file can rebuild state and do nothing else: no
  ``os.system``, no ``builtins.eval``, not even a function of kvconfig's own. Data files are the user's own (mode
  0600 in a 0700 folder, see ``database.py``), so this is defence in depth rather than the only wall.
"""

from __future__ import annotations

import collections
import copyreg
import datetime
import io
import pickle
import threading
from collections.abc import Callable
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from sortedcontainers import SortedDict

from kvconfig.crypto import KeyMaterial
from kvconfig.fake.core.state import Vault

__all__ = ["SnapshotError", "dumps", "dumps_vault", "loads", "loads_vault"]

_PROTOCOL = 5
# Packages whose classes a snapshot may name. The serving adapters (sockets, servers) and the face are not among them.
_STATE_PACKAGES = (
    "kvconfig.fake.core.",
    "kvconfig.fake.secrets.",
    "kvconfig.fake.keys.",
    "kvconfig.fake.certificates.",
    "kvconfig.fake.control.",
    "kvconfig.crypto.",
)
# Classes of those packages that do input or output when built or hold callables: never rebuilt from a file.
_REFUSED = frozenset({("kvconfig.fake.control.events", "Webhook"), ("kvconfig.fake.control.events", "EventHub")})
# Builtin and standard types pickle names for containers and plain values.
_PLAIN = {
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "object"): object,
    ("builtins", "bytearray"): bytearray,
    ("builtins", "complex"): complex,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("collections", "Counter"): collections.Counter,
    ("collections", "deque"): collections.deque,
    # The object stores' sorted index (sortedcontainers): rebuilt from its items; its key function, if a snapshot
    # named one, would itself have to pass this table.
    ("sortedcontainers.sorteddict", "SortedDict"): SortedDict,
    ("copyreg", "_reconstructor"): getattr(copyreg, "_reconstructor"),  # noqa: B009 - private to copyreg
    ("datetime", "datetime"): datetime.datetime,
    ("datetime", "date"): datetime.date,
    ("datetime", "timedelta"): datetime.timedelta,
    ("datetime", "timezone"): datetime.timezone,
}
_EVENTS_EXTENSION = "events"


class SnapshotError(ValueError):
    """A snapshot could not be made or read back (a foreign or damaged data file, or an unsupported object)."""


# -- reconstructors (the only functions a snapshot may call) -------------------------------------------------------


def _private_key(der: bytes) -> Any:
    return serialization.load_der_private_key(der, password=None)


def _public_key(der: bytes) -> Any:
    return serialization.load_der_public_key(der)


def _certificate(der: bytes) -> x509.Certificate:
    return x509.load_der_x509_certificate(der)


def _csr(der: bytes) -> x509.CertificateSigningRequest:
    return x509.load_der_x509_csr(der)


def _key_material(key: Any, kty: str) -> KeyMaterial:
    return KeyMaterial(key, kty=kty)


def _lock() -> Any:
    return threading.Lock()


def _rlock() -> Any:
    return threading.RLock()


def _vault(state: dict[str, Any]) -> Vault:
    vault = Vault.__new__(Vault)
    vault.__dict__.update(state)
    vault.lock = threading.RLock()
    vault.access.policy_listeners = []
    return vault


_RECONSTRUCTORS: dict[str, Callable[..., Any]] = {
    function.__name__: function
    for function in (_private_key, _public_key, _certificate, _csr, _key_material, _lock, _rlock, _vault)
}

_PRIVATE_KEYS = (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey)
_PUBLIC_KEYS = (rsa.RSAPublicKey, ec.EllipticCurvePublicKey, ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)
_LOCK_TYPES = (type(threading.Lock()),)
_RLOCK_TYPES = (type(threading.RLock()),)


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, Vault):
            state = {key: value for key, value in obj.__dict__.items() if key != "lock"}
            state["extensions"] = {key: value for key, value in obj.extensions.items() if key != _EVENTS_EXTENSION}
            return _vault, (state,)
        if isinstance(obj, KeyMaterial):
            return _key_material, (obj.key, obj.kty)
        if isinstance(obj, _PRIVATE_KEYS):
            der = obj.private_bytes(
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            return _private_key, (der,)
        if isinstance(obj, _PUBLIC_KEYS):
            der = obj.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
            return _public_key, (der,)
        if isinstance(obj, x509.Certificate):
            return _certificate, (obj.public_bytes(serialization.Encoding.DER),)
        if isinstance(obj, x509.CertificateSigningRequest):
            return _csr, (obj.public_bytes(serialization.Encoding.DER),)
        if isinstance(obj, _RLOCK_TYPES):
            return _rlock, ()
        if isinstance(obj, _LOCK_TYPES):
            return _lock, ()
        return NotImplemented

    def persistent_id(self, obj: Any) -> Any:
        # The access-policy listeners are closures over the running service: left out, wired again on adoption.
        if isinstance(obj, list) and obj and all(callable(item) for item in obj):
            return "callables"
        return None


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module == __name__ and name in _RECONSTRUCTORS:
            return _RECONSTRUCTORS[name]
        plain = _PLAIN.get((module, name))
        if plain is not None:
            return plain
        if module.startswith(_STATE_PACKAGES) and (module, name) not in _REFUSED and "." not in name:
            found = super().find_class(module, name)
            if isinstance(found, type):
                return found
        raise SnapshotError(f"A snapshot may not name {module}.{name}: it is not part of the fake's state.")

    def persistent_load(self, pid: Any) -> Any:
        if pid == "callables":
            return []
        raise SnapshotError(f"Unknown reference {pid!r} in a snapshot.")


def dumps(obj: object) -> bytes:
    """``obj`` (a piece of the fake's state) as snapshot bytes."""
    buffer = io.BytesIO()
    try:
        _Pickler(buffer, protocol=_PROTOCOL).dump(obj)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise SnapshotError(f"Cannot snapshot {type(obj).__name__}: {exc}") from exc
    return buffer.getvalue()


def loads(data: bytes) -> Any:
    """The object of :func:`dumps`; :class:`SnapshotError` when the bytes are not a snapshot of the fake's state."""
    try:
        return _Unpickler(io.BytesIO(data)).load()
    except SnapshotError:
        raise
    except Exception as exc:  # a damaged or foreign file: pickle raises many kinds; all mean "not loadable"
        raise SnapshotError(f"The snapshot cannot be read: {type(exc).__name__}: {exc}") from exc


def dumps_vault(vault: Vault) -> bytes:
    """One vault and everything in it, taken under the vault's lock so no operation is half in it."""
    with vault.lock:
        return dumps(vault)


def loads_vault(data: bytes) -> Vault:
    vault = loads(data)
    if not isinstance(vault, Vault):
        raise SnapshotError(f"The snapshot holds a {type(vault).__name__}, not a vault.")
    return vault
