"""The catalogue of Key Vault service errors the fake answers with: status, code, inner code and message.

Messages follow the real service's wording where it has been observed (recordings of the real service, see
``shared/reference/keyvault-rest/operations.md`` §3, and the table "Error wordings and their evidence" in
``docs/fake.md``); the others follow the same patterns. Keeping them in one package, a module per wing, makes them easy
to audit and keeps the operations free of string literals. ``ServiceError`` joins the wings' answers in one class.
"""

from __future__ import annotations

from kvconfig.fake.core.errors.access import AccessErrors
from kvconfig.fake.core.errors.certificates import CertificateErrors
from kvconfig.fake.core.errors.keys import KeyErrors
from kvconfig.fake.core.errors.objects import ObjectErrors
from kvconfig.fake.core.errors.requests import RequestErrors

__all__ = ["ServiceError"]


class ServiceError(RequestErrors, ObjectErrors, KeyErrors, CertificateErrors, AccessErrors):
    """An error answer of the service: HTTP status, error code, optional inner error code, message."""
