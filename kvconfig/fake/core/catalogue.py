"""Every REST operation of Key Vault's secrets, keys and certificates data plane, as route templates.

The router serves the implemented ones from their modules; the rest stay here as placeholders that answer
``FakeVaultNotImplementedError`` (never a silent success). The coverage table in docs/fake.md is generated from
this catalogue and the route table, so it cannot drift from the code.
"""

from __future__ import annotations

from collections.abc import Iterable

from kvconfig.fake.core.properties import VaultKind
from kvconfig.fake.core.routing import Route, RouteTable

__all__ = ["CATALOGUE", "build_route_table"]

_BOTH: frozenset[VaultKind] = frozenset({"vault", "managedhsm"})

CATALOGUE: tuple[Route, ...] = (
    # keys (25)
    Route("POST", "/keys/restore", "RestoreKey", None, kinds=_BOTH),
    Route("GET", "/keys", "GetKeys", None, kinds=_BOTH),
    Route("GET", "/keys/{name}/versions", "GetKeyVersions", None, kinds=_BOTH),
    Route("POST", "/keys/{name}/create", "CreateKey", None, kinds=_BOTH),
    Route("POST", "/keys/{name}/rotate", "RotateKey", None, kinds=_BOTH, since="7.3"),
    Route("POST", "/keys/{name}/backup", "BackupKey", None, kinds=_BOTH),
    Route("GET", "/keys/{name}/rotationpolicy", "GetKeyRotationPolicy", None, kinds=_BOTH, since="7.3"),
    Route("PUT", "/keys/{name}/rotationpolicy", "UpdateKeyRotationPolicy", None, kinds=_BOTH, since="7.3"),
    Route("PUT", "/keys/{name}", "ImportKey", None, kinds=_BOTH),
    Route("DELETE", "/keys/{name}", "DeleteKey", None, kinds=_BOTH),
    Route("POST", "/keys/{name}/{version}/encrypt", "encrypt", None, kinds=_BOTH),
    Route("POST", "/keys/{name}/{version}/decrypt", "decrypt", None, kinds=_BOTH),
    Route("POST", "/keys/{name}/{version}/sign", "sign", None, kinds=_BOTH),
    Route("POST", "/keys/{name}/{version}/verify", "verify", None, kinds=_BOTH),
    Route("POST", "/keys/{name}/{version}/wrapkey", "wrapKey", None, kinds=_BOTH),
    Route("POST", "/keys/{name}/{version}/unwrapkey", "unwrapKey", None, kinds=_BOTH),
    Route("POST", "/keys/{name}/{version}/release", "release", None, kinds=_BOTH, since="7.3"),
    Route("GET", "/keys/{name}/{version}/attestation", "GetKeyAttestation", None, kinds=_BOTH, since="7.6-preview.2"),
    Route("GET", "/keys/{name}/{version?}", "GetKey", None, kinds=_BOTH),
    Route("PATCH", "/keys/{name}/{version?}", "UpdateKey", None, kinds=_BOTH),
    Route("GET", "/deletedkeys", "GetDeletedKeys", None, kinds=_BOTH),
    Route("GET", "/deletedkeys/{name}", "GetDeletedKey", None, kinds=_BOTH),
    Route("DELETE", "/deletedkeys/{name}", "PurgeDeletedKey", None, success=204, kinds=_BOTH),
    Route("POST", "/deletedkeys/{name}/recover", "RecoverDeletedKey", None, kinds=_BOTH),
    Route("POST", "/rng", "GetRandomBytes", None, kinds=_BOTH, since="7.2"),
    # certificates (27)
    Route("PUT", "/certificates/contacts", "SetCertificateContacts", None),
    Route("GET", "/certificates/contacts", "GetCertificateContacts", None),
    Route("DELETE", "/certificates/contacts", "DeleteCertificateContacts", None),
    Route("GET", "/certificates/issuers", "GetCertificateIssuers", None),
    Route("PUT", "/certificates/issuers/{issuer}", "SetCertificateIssuer", None),
    Route("PATCH", "/certificates/issuers/{issuer}", "UpdateCertificateIssuer", None),
    Route("GET", "/certificates/issuers/{issuer}", "GetCertificateIssuer", None),
    Route("DELETE", "/certificates/issuers/{issuer}", "DeleteCertificateIssuer", None),
    Route("POST", "/certificates/restore", "RestoreCertificate", None),
    Route("GET", "/certificates", "GetCertificates", None),
    Route("POST", "/certificates/{name}/create", "CreateCertificate", None, success=202),
    Route("POST", "/certificates/{name}/import", "ImportCertificate", None),
    Route("GET", "/certificates/{name}/versions", "GetCertificateVersions", None),
    Route("GET", "/certificates/{name}/policy", "GetCertificatePolicy", None),
    Route("PATCH", "/certificates/{name}/policy", "UpdateCertificatePolicy", None),
    Route("POST", "/certificates/{name}/pending/merge", "MergeCertificate", None, success=201),
    Route("GET", "/certificates/{name}/pending", "GetCertificateOperation", None),
    Route("PATCH", "/certificates/{name}/pending", "UpdateCertificateOperation", None),
    Route("DELETE", "/certificates/{name}/pending", "DeleteCertificateOperation", None),
    Route("POST", "/certificates/{name}/backup", "BackupCertificate", None),
    Route("DELETE", "/certificates/{name}", "DeleteCertificate", None),
    Route("GET", "/certificates/{name}/{version?}", "GetCertificate", None),
    Route("PATCH", "/certificates/{name}/{version?}", "UpdateCertificate", None),
    Route("GET", "/deletedcertificates", "GetDeletedCertificates", None),
    Route("GET", "/deletedcertificates/{name}", "GetDeletedCertificate", None),
    Route("DELETE", "/deletedcertificates/{name}", "PurgeDeletedCertificate", None, success=204),
    Route("POST", "/deletedcertificates/{name}/recover", "RecoverDeletedCertificate", None),
)


def build_route_table(*implemented: Iterable[Route]) -> RouteTable:
    """The implemented routes (each object kind's ``ROUTES``), then the catalogue's placeholders for the rest."""
    routes = [route for group in implemented for route in group]
    names = {route.operation for route in routes}
    return RouteTable([*routes, *(route for route in CATALOGUE if route.operation not in names)])
