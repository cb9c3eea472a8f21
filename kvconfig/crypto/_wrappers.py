"""Key-encryption-key seams for envelope encryption: the KeyWrapper protocols and their adapters.

A wrapper wraps a data key under one key-encryption key (``key_id`` names it, **with its version**, so data sealed
under an old version stays readable after rotation); an unwrapper unwraps a data key given the key id and algorithm
recorded in an envelope. Adapters: :class:`LocalKeyWrapper` (a local JWK), :class:`AzureKeyWrapper` and
:class:`AsyncAzureKeyWrapper` (the Azure SDK's ``CryptographyClient``), :class:`KeyRing` (several keys, for rotation).
They also sign and verify a digest (RS256) with the same key: the fleet's shared cache signs its data key record, so
that only the key's holder can make one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Protocol, Union, cast
from urllib.parse import urlsplit

from kvconfig.references import is_trusted_host

from ._algorithms import supported_algorithms
from ._client import LocalCryptoClient
from ._jwk import KeyMaterial
from ._key_ids import host_of, trusted_key_id
from .errors import CryptoError, DecryptionError, EnvelopeKeyError, InvalidKeyError, UnsupportedAlgorithmError

if TYPE_CHECKING:
    from azure.keyvault.keys.crypto import CryptographyClient, KeyWrapAlgorithm
    from azure.keyvault.keys.crypto.aio import CryptographyClient as AsyncCryptographyClient

__all__ = [
    "AsyncAzureKeyWrapper",
    "AsyncKeyUnwrapper",
    "AsyncKeyWrapper",
    "AzureKeyWrapper",
    "KeyRing",
    "KeyUnwrapper",
    "KeyWrapper",
    "LocalKeyWrapper",
]


class KeyUnwrapper(Protocol):
    """Unwraps a data key for the key id and algorithm an envelope records.

    The envelope's header is not authenticated when this is called: an unwrapper must unwrap only with the
    algorithm it was configured with (refusing any other ``algorithm``) and must not reach out to a key id it does
    not already trust. kvconfig's adapters do both.
    """

    def unwrap_key(self, key_id: str, algorithm: str, wrapped: bytes) -> bytes: ...


class KeyWrapper(KeyUnwrapper, Protocol):
    """Wraps data keys under one key-encryption key.

    ``key_id`` and ``algorithm`` are read **after** ``wrap_key`` returns, so an adapter may learn its versioned key
    id from the wrap itself (the Azure SDK client does).
    """

    @property
    def key_id(self) -> str: ...

    @property
    def algorithm(self) -> str: ...

    def wrap_key(self, key: bytes) -> bytes: ...


class AsyncKeyUnwrapper(Protocol):
    """The asynchronous twin of :class:`KeyUnwrapper`."""

    async def unwrap_key(self, key_id: str, algorithm: str, wrapped: bytes) -> bytes: ...


class AsyncKeyWrapper(AsyncKeyUnwrapper, Protocol):
    """The asynchronous twin of :class:`KeyWrapper`."""

    @property
    def key_id(self) -> str: ...

    @property
    def algorithm(self) -> str: ...

    async def wrap_key(self, key: bytes) -> bytes: ...


def _default_wrap_algorithm(material: KeyMaterial) -> str:
    if material.kty_family == "RSA":
        return "RSA-OAEP-256"
    if material.kty_family == "oct":
        return f"A{material.size}KW"
    raise UnsupportedAlgorithmError(f"A {material.kty} key cannot wrap keys; use an RSA or oct key.")


# PKCS#1 v1.5 encryption padding (RFC 8017, 7.2) lets whoever can tell a good padding from a bad one decrypt
# (Bleichenbacher's attack); an envelope is opened by code that answers with errors, so it is never used.
_REFUSED_WRAPS = frozenset({"RSA1_5"})


def _configured_algorithm(name: str) -> str:
    if name in _REFUSED_WRAPS:
        raise UnsupportedAlgorithmError(
            f"{name} cannot wrap envelope data keys: unwrapping PKCS#1 v1.5 padding is a padding oracle. "
            "Use RSA-OAEP-256 (the default)."
        )
    return name


def _check_unwrap_arguments(configured: str, algorithm: object, wrapped: object) -> None:
    """The header's algorithm only has to agree with the wrapper's; it never chooses the unwrap."""
    if not isinstance(wrapped, (bytes, bytearray, memoryview)):
        raise DecryptionError(f"The wrapped key must be bytes, not {type(wrapped).__name__}.")
    if str(getattr(algorithm, "value", algorithm)) != configured:
        raise DecryptionError(f"This wrapper unwraps with {configured} only.")


class LocalKeyWrapper:
    """Wraps data keys with a local key: RSA-OAEP-256 for RSA keys, A128KW/A192KW/A256KW for oct keys by size.

    ``key_id`` defaults to the client's key id; it is what envelopes record and what :meth:`unwrap_key` answers to.
    """

    def __init__(
        self, key: LocalCryptoClient | KeyMaterial, key_id: str | None = None, *, algorithm: str | None = None
    ) -> None:
        client = key if isinstance(key, LocalCryptoClient) else LocalCryptoClient(key, key_id=key_id)
        resolved_id = key_id if key_id is not None else client.key_id
        if not resolved_id:
            raise InvalidKeyError("LocalKeyWrapper needs a key_id: the key has no 'kid', so pass key_id=...")
        name = _configured_algorithm(
            _default_wrap_algorithm(client.key_material)
            if algorithm is None
            else str(getattr(algorithm, "value", algorithm))
        )
        if name not in supported_algorithms(client.key_material, "wrapKey"):
            raise UnsupportedAlgorithmError(
                f"Algorithm {name!r} cannot wrap keys with this {client.key_material.kty} key."
            )
        self._client = client
        self._key_id = resolved_id
        self._algorithm = name

    def __repr__(self) -> str:
        return f"LocalKeyWrapper(key_id={self._key_id!r}, algorithm={self._algorithm!r})"

    @property
    def key_id(self) -> str:
        return self._key_id

    @property
    def algorithm(self) -> str:
        return self._algorithm

    def wrap_key(self, key: bytes) -> bytes:
        return self._client.wrap_key(self._algorithm, key)

    def unwrap_key(self, key_id: str, algorithm: str, wrapped: bytes) -> bytes:
        if key_id != self._key_id:
            raise EnvelopeKeyError(f"The data key was wrapped by key {key_id!r}; this wrapper holds {self._key_id!r}.")
        _check_unwrap_arguments(self._algorithm, algorithm, wrapped)
        return self._client.unwrap_key(self._algorithm, wrapped)

    def sign_digest(self, digest: bytes) -> tuple[str, bytes]:
        """An RS256 signature of a SHA-256 ``digest`` by this key (RSA only), with the key id that made it."""
        return self._key_id, self._client.sign(_SIGNATURE_ALGORITHM, digest)

    def verify_digest(self, key_id: str, algorithm: str, digest: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is this key's RS256 signature of ``digest`` (``False`` for another key's; another
        version of this key is an EnvelopeKeyError: it cannot tell)."""
        if key_id != self._key_id and _key_name(key_id) is not None and _key_name(key_id) == _key_name(self._key_id):
            raise EnvelopeKeyError(
                f"The digest was signed by key {key_id!r:.200}; this wrapper holds {self._key_id!r}."
            )
        if key_id != self._key_id or algorithm != _SIGNATURE_ALGORITHM:
            return False  # another key's signature proves nothing here
        try:
            return self._client.verify(_SIGNATURE_ALGORITHM, digest, signature)
        except (CryptoError, ValueError):
            return False


class KeyRing:
    """Several wrappers: wraps with the first (the current key), unwraps with whichever holds the recorded key id.

    Use it for rotation: ``KeyRing(new_version, old_version)`` seals new data under the new key and still opens
    envelopes sealed under the old one.
    """

    def __init__(self, current: KeyWrapper, *previous: KeyWrapper) -> None:
        self._current = current
        self._by_id: dict[str, KeyUnwrapper] = {}
        for wrapper in (current, *previous):
            self._by_id.setdefault(wrapper.key_id, wrapper)

    def __repr__(self) -> str:
        return f"KeyRing(key_ids={list(self._by_id)!r})"

    @property
    def key_id(self) -> str:
        return self._current.key_id

    @property
    def algorithm(self) -> str:
        return self._current.algorithm

    def wrap_key(self, key: bytes) -> bytes:
        return self._current.wrap_key(key)

    def unwrap_key(self, key_id: str, algorithm: str, wrapped: bytes) -> bytes:
        unwrapper = self._by_id.get(key_id) if isinstance(key_id, str) else None
        if unwrapper is None:
            raise EnvelopeKeyError(f"No key in this key ring has id {key_id!r}; it holds {sorted(self._by_id)}.")
        return unwrapper.unwrap_key(key_id, algorithm, wrapped)

    def sign_digest(self, digest: bytes) -> tuple[str, bytes]:
        """Signed by the current key (see :meth:`LocalKeyWrapper.sign_digest`)."""
        sign = getattr(self._current, "sign_digest", None)
        if sign is None:
            raise UnsupportedAlgorithmError(
                f"The current key of this key ring ({type(self._current).__name__}) cannot sign."
            )
        return cast("tuple[str, bytes]", sign(digest))

    def verify_digest(self, key_id: str, algorithm: str, digest: bytes, signature: bytes) -> bool:
        """Verified by whichever key holds ``key_id`` (``False`` for another key; EnvelopeKeyError for another
        version of a key the ring holds)."""
        verify = getattr(self._by_id.get(key_id) if isinstance(key_id, str) else None, "verify_digest", None)
        if verify is not None:
            return verify(key_id, algorithm, digest, signature) is True
        if _key_name(key_id) is not None and _key_name(key_id) in {_key_name(held) for held in self._by_id}:
            raise EnvelopeKeyError(f"No key in this key ring has id {key_id!r:.200}, another version of one it holds.")
        return False


def _require_versioned(key_id: str | None) -> str:
    """Key Vault key ids look like ``https://{vault}/keys/{name}/{version}``; envelopes need the version."""
    parts = [part for part in urlsplit(key_id or "").path.split("/") if part]
    if key_id is None or len(parts) != 3 or parts[0] != "keys":
        raise InvalidKeyError(
            f"The CryptographyClient's key id {key_id!r} is not a versioned Key Vault key id "
            "(https://<vault>/keys/<name>/<version>); envelopes must record the version to survive key rotation. "
            "Build the client from a KeyVaultKey or a versioned key id."
        )
    return key_id


def _wrap_algorithm(name: str) -> KeyWrapAlgorithm:
    try:
        from azure.keyvault.keys.crypto import KeyWrapAlgorithm
    except ImportError:  # pragma: no cover - exercised only without the extra
        raise ImportError("AzureKeyWrapper needs azure-keyvault-keys: pip install azure-keyvault-keys") from None
    try:
        return KeyWrapAlgorithm(name)
    except ValueError:
        raise UnsupportedAlgorithmError(f"{name!r} is not a key wrap algorithm the Azure SDK knows.") from None


# The Azure SDK computes these wraps itself rather than asking the vault, and a vault's oct key reaches it without
# "k", which its SymmetricKey then replaces with os.urandom(32) (azure/keyvault/keys/crypto/_internal): the data
# key would be wrapped under a random key nobody keeps, and the envelope could never be opened again.
_SDK_LOCAL_AES_WRAPS = frozenset({"A128KW", "A192KW", "A256KW"})

# The signature the adapters make and accept: RSASSA-PKCS1-v1_5 with SHA-256 over a precomputed digest.
_SIGNATURE_ALGORITHM = "RS256"


def _key_name(key_id: object) -> tuple[str, str] | None:
    """``(host, key name)`` of a Key Vault key id, any version; ``None`` for anything else."""
    if not isinstance(key_id, str):
        return None
    split = urlsplit(key_id)
    parts = [part for part in split.path.split("/") if part]
    if len(parts) not in (2, 3) or parts[0] != "keys" or not split.netloc:
        return None
    return split.netloc.lower(), parts[1]


def _verify_failed(exc: Exception) -> bool:
    """A 400 from the vault or a ValueError from the SDK's local crypto: the signature is malformed, so invalid."""
    from azure.core.exceptions import HttpResponseError

    return isinstance(exc, ValueError) or (isinstance(exc, HttpResponseError) and exc.status_code == 400)


SyncClientFactory = Callable[[str], "CryptographyClient"]
AsyncClientFactory = Callable[[str], Union["AsyncCryptographyClient", Awaitable["AsyncCryptographyClient"]]]


def azure_wrap_algorithm(algorithm: str) -> tuple[str, KeyWrapAlgorithm]:
    """``algorithm`` as the Azure wrappers take it (an SDK enum's value too), and the SDK's enum for it; an
    :class:`UnsupportedAlgorithmError` for one they cannot seal with. Checked before anything is made for them."""
    configured = _configured_algorithm(str(getattr(algorithm, "value", algorithm)))
    if configured in _SDK_LOCAL_AES_WRAPS:
        raise UnsupportedAlgorithmError(
            f"{configured} cannot seal envelopes through the Azure SDK: the SDK computes it locally and, for "
            "a vault's oct key (which comes without its key bytes), with a random key, so the envelope could "
            "never be opened. Use algorithm='CKM_AES_KEY_WRAP' (the same RFC 3394 wrap, done by the vault), or "
            "LocalKeyWrapper for a key you hold."
        )
    return configured, _wrap_algorithm(configured)


class _AzureWrapperBase:
    def __init__(self, algorithm: str, trusted_hosts: Iterable[str]) -> None:
        self._algorithm, self._sdk_algorithm = azure_wrap_algorithm(algorithm)
        self._wrapped_by: str | None = None
        trusted = (trusted_hosts,) if isinstance(trusted_hosts, str) else tuple(trusted_hosts)
        is_trusted_host("", trusted)  # a malformed entry fails here (ValueError), not when an envelope arrives
        self._trusted_hosts = trusted

    @property
    def algorithm(self) -> str:
        return self._algorithm

    def _current_key_id(self, client_key_id: str | None) -> str:
        return _require_versioned(self._wrapped_by or client_key_id)

    def _known_client(self, key_id: object, client_key_id: str | None) -> bool:
        """Whether ``key_id`` is the wrapper's own client's key (no new client, no new host)."""
        return isinstance(key_id, str) and key_id in (self._wrapped_by, client_key_id)

    def _checked_key_id(self, key_id: object, client_key_id: str | None, *, has_factory: bool) -> str:
        """The key id a client may be made for: trusted host, versioned shape; raises EnvelopeKeyError otherwise."""
        if not has_factory:
            raise EnvelopeKeyError(
                f"The data key was wrapped by key {key_id!r:.200}, not this client's key; "
                "pass client_factory= to open envelopes sealed under other keys or versions."
            )
        own = [host for host in (host_of(client_key_id), host_of(self._wrapped_by)) if host]
        return trusted_key_id(key_id, trusted_hosts=self._trusted_hosts, own_hosts=own)

    def _check_signer(self, key_id: object, algorithm: object, client_key_id: str | None) -> bool:
        """Whether a signature may be asked about: by this wrapper's own key (same host and name, any version), RS256.
        Another key, even on a trusted host, proves nothing: the signature counts as invalid without a request."""
        own = {_key_name(client_key_id), _key_name(self._wrapped_by)} - {None}
        if _key_name(key_id) not in own:
            return False
        return algorithm == _SIGNATURE_ALGORITHM


def _unwrap_failed(exc: Exception) -> DecryptionError | None:
    """The service's (or the SDK's local) answer to a wrapped key it cannot unwrap, as one DecryptionError.

    A 400 from the vault, or a ValueError from the SDK's local crypto, depends on the wrapped bytes (bad padding,
    wrong length): its text would tell an attacker which. Failures that do not depend on them (401, 403, 404,
    throttling, the network) stay the SDK's own errors.
    """
    from azure.core.exceptions import HttpResponseError

    if isinstance(exc, HttpResponseError) and exc.status_code == 400:
        return DecryptionError("The key vault could not unwrap the data key.")
    if isinstance(exc, ValueError):
        return DecryptionError("The data key could not be unwrapped.")
    return None


class AzureKeyWrapper(_AzureWrapperBase):
    """Wraps data keys with Key Vault through ``azure.keyvault.keys.crypto.CryptographyClient``.

    ``algorithm``: ``RSA-OAEP-256`` (the default) or another RSA wrap for RSA keys; ``CKM_AES_KEY_WRAP`` or
    ``CKM_AES_KEY_WRAP_PAD`` for Managed HSM oct keys (``A*KW`` is refused: the SDK would not send it to the vault).
    The envelope records the client's **versioned** key id as the SDK reports it after the wrap. To open envelopes
    sealed under other key ids (older versions, other keys), pass ``client_factory``: it gets a key id and returns a
    ``CryptographyClient`` for it (typically ``lambda kid: CryptographyClient(kid, credential)``).

    The envelope's header is not authenticated when it is opened, so the wrapper unwraps only with ``algorithm``
    (RSA1_5 is refused) and gives ``client_factory`` only versioned key ids on a trusted host: a Key Vault or
    Managed HSM host of the Azure clouds, the host of ``client``'s own key, or one ``trusted_hosts`` lists
    (``"myvault.localhost:8443"``, or ``".localhost:8443"`` for every host under it). Any other key id is an
    :class:`EnvelopeKeyError` before a client exists.
    """

    def __init__(
        self,
        client: CryptographyClient,
        *,
        algorithm: str = "RSA-OAEP-256",
        client_factory: SyncClientFactory | None = None,
        trusted_hosts: Iterable[str] = (),
    ) -> None:
        super().__init__(algorithm, trusted_hosts)
        self._client = client
        self._factory = client_factory
        self._clients: dict[str, CryptographyClient] = {}

    def __repr__(self) -> str:
        return f"AzureKeyWrapper(key_id={self._client.key_id!r}, algorithm={self._algorithm!r})"

    @property
    def key_id(self) -> str:
        return self._current_key_id(self._client.key_id)

    def wrap_key(self, key: bytes) -> bytes:
        result = self._client.wrap_key(self._sdk_algorithm, key)
        self._wrapped_by = _require_versioned(result.key_id or self._client.key_id)
        return result.encrypted_key

    def _client_for(self, key_id: str) -> CryptographyClient:
        if self._known_client(key_id, self._client.key_id):
            return self._client
        checked = self._checked_key_id(key_id, self._client.key_id, has_factory=self._factory is not None)
        if self._factory is not None and checked not in self._clients:
            self._clients[checked] = self._factory(checked)
        return self._clients[checked]

    def unwrap_key(self, key_id: str, algorithm: str, wrapped: bytes) -> bytes:
        _check_unwrap_arguments(self._algorithm, algorithm, wrapped)
        client = self._client_for(key_id)
        try:
            return client.unwrap_key(self._sdk_algorithm, bytes(wrapped)).key
        except Exception as exc:
            failure = _unwrap_failed(exc)
            if failure is None:
                raise
            raise failure from None

    def sign_digest(self, digest: bytes) -> tuple[str, bytes]:
        """An RS256 signature of a SHA-256 ``digest`` by the key (Key Vault ``sign``) and the versioned key id that
        made it."""
        from azure.keyvault.keys.crypto import SignatureAlgorithm

        result = self._client.sign(SignatureAlgorithm.rs256, digest)
        return _require_versioned(result.key_id or self._client.key_id), result.signature

    def verify_digest(self, key_id: str, algorithm: str, digest: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is the key's RS256 signature of ``digest`` (the SDK verifies locally when it can
        read the public key, else asks the vault). Only this wrapper's key, any version, is asked."""
        from azure.keyvault.keys.crypto import SignatureAlgorithm

        if not self._check_signer(key_id, algorithm, self._client.key_id):
            return False
        client = self._client_for(key_id)
        try:
            return bool(client.verify(SignatureAlgorithm.rs256, digest, bytes(signature)).is_valid)
        except Exception as exc:
            if _verify_failed(exc):
                return False
            raise


class AsyncAzureKeyWrapper(_AzureWrapperBase):
    """The asynchronous twin of :class:`AzureKeyWrapper`, for ``azure.keyvault.keys.crypto.aio.CryptographyClient``.

    ``client_factory`` may return a client or an awaitable of one; it is only given key ids on trusted hosts, as for
    :class:`AzureKeyWrapper`.
    """

    def __init__(
        self,
        client: AsyncCryptographyClient,
        *,
        algorithm: str = "RSA-OAEP-256",
        client_factory: AsyncClientFactory | None = None,
        trusted_hosts: Iterable[str] = (),
    ) -> None:
        super().__init__(algorithm, trusted_hosts)
        self._client = client
        self._factory = client_factory
        self._clients: dict[str, AsyncCryptographyClient] = {}

    def __repr__(self) -> str:
        return f"AsyncAzureKeyWrapper(key_id={self._client.key_id!r}, algorithm={self._algorithm!r})"

    @property
    def key_id(self) -> str:
        return self._current_key_id(self._client.key_id)

    async def wrap_key(self, key: bytes) -> bytes:
        result = await self._client.wrap_key(self._sdk_algorithm, key)
        self._wrapped_by = _require_versioned(result.key_id or self._client.key_id)
        return result.encrypted_key

    async def _client_for(self, key_id: str) -> AsyncCryptographyClient:
        if self._known_client(key_id, self._client.key_id):
            return self._client
        checked = self._checked_key_id(key_id, self._client.key_id, has_factory=self._factory is not None)
        if self._factory is not None and checked not in self._clients:
            made = self._factory(checked)
            self._clients[checked] = await made if isinstance(made, Awaitable) else made
        return self._clients[checked]

    async def unwrap_key(self, key_id: str, algorithm: str, wrapped: bytes) -> bytes:
        _check_unwrap_arguments(self._algorithm, algorithm, wrapped)
        client = await self._client_for(key_id)
        try:
            return (await client.unwrap_key(self._sdk_algorithm, bytes(wrapped))).key
        except Exception as exc:
            failure = _unwrap_failed(exc)
            if failure is None:
                raise
            raise failure from None

    async def sign_digest(self, digest: bytes) -> tuple[str, bytes]:
        """An RS256 signature of a SHA-256 ``digest`` by the key (Key Vault ``sign``) and the versioned key id that
        made it."""
        from azure.keyvault.keys.crypto import SignatureAlgorithm

        result = await self._client.sign(SignatureAlgorithm.rs256, digest)
        return _require_versioned(result.key_id or self._client.key_id), result.signature

    async def verify_digest(self, key_id: str, algorithm: str, digest: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is the key's RS256 signature of ``digest`` (the SDK verifies locally when it can
        read the public key, else asks the vault). Only this wrapper's key, any version, is asked."""
        from azure.keyvault.keys.crypto import SignatureAlgorithm

        if not self._check_signer(key_id, algorithm, self._client.key_id):
            return False
        client = await self._client_for(key_id)
        try:
            return bool((await client.verify(SignatureAlgorithm.rs256, digest, bytes(signature))).is_valid)
        except Exception as exc:
            if _verify_failed(exc):
                return False
            raise
