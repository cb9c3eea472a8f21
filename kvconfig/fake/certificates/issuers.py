"""Certificate issuers and contacts: the vault-wide settings of the certificates data plane (8 operations).

Issuers name a provider and credentials; the fake never echoes the password (``pwd``), as the service does not,
and serves every provider with its own certificate authority (``issuance.py``). ``Self`` and ``Unknown`` are the
service's reserved issuer names. Contacts are the addresses EmailContacts lifetime actions notify.
"""

from __future__ import annotations

from typing import Any

from kvconfig.fake.certificates.state import Issuer, issuer_to_wire, vault_state
from kvconfig.fake.core.errors import ServiceError
from kvconfig.fake.core.objects import check_name, page
from kvconfig.fake.core.routing import OperationContext
from kvconfig.fake.core.state import Attributes

__all__ = [
    "delete_certificate_contacts",
    "delete_certificate_issuer",
    "get_certificate_contacts",
    "get_certificate_issuer",
    "get_certificate_issuers",
    "set_certificate_contacts",
    "set_certificate_issuer",
    "update_certificate_issuer",
]

_RESERVED = ("self", "unknown")
_CONTACT_FIELDS = ("email", "name", "phone")
_ADMIN_FIELDS = ("first_name", "last_name", "email", "phone")


def _optional_str(section: dict[str, Any], name: str, where: str) -> str | None:
    value = section.get(name)
    if value is not None and not isinstance(value, str):
        raise ServiceError.bad_parameter(f"The property '{where}{name}' must be a string.")
    return value


def _apply(issuer: Issuer, body: dict[str, Any], now: int) -> None:
    """Apply the settable parts of a set or update body to an issuer (fields absent from the body stay)."""
    provider = _optional_str(body, "provider", "")
    if provider is not None:
        issuer.provider = provider
    credentials = body.get("credentials")
    if credentials is not None:
        if not isinstance(credentials, dict):
            raise ServiceError.bad_parameter("The property 'credentials' must be an object.")
        if "account_id" in credentials:
            issuer.account_id = _optional_str(credentials, "account_id", "credentials.")
        if "pwd" in credentials:
            issuer.password = _optional_str(credentials, "pwd", "credentials.")
    org_details = body.get("org_details")
    if org_details is not None:
        issuer.org_details = _org_details(org_details)
    attributes = body.get("attributes")
    if attributes is not None:
        if not isinstance(attributes, dict):
            raise ServiceError.bad_parameter("The property 'attributes' must be an object.")
        enabled = attributes.get("enabled")
        if enabled is not None:
            if not isinstance(enabled, bool):
                raise ServiceError.bad_parameter("The attribute 'enabled' must be true or false.")
            issuer.attributes.enabled = enabled
    issuer.attributes.updated = now


def _org_details(value: Any) -> dict[str, Any]:
    """OrganizationDetails as the service models it: ``id`` and ``admin_details`` of four strings each; other
    fields are dropped, and a field of the wrong type is the service's 400, never stored and echoed."""
    if not isinstance(value, dict):
        raise ServiceError.bad_parameter("The property 'org_details' must be an object.")
    details: dict[str, Any] = {}
    if value.get("id") is not None:
        details["id"] = _optional_str(value, "id", "org_details.")
    admins = value.get("admin_details")
    if admins is not None:
        if not isinstance(admins, list) or not all(isinstance(admin, dict) for admin in admins):
            raise ServiceError.bad_parameter("The property 'org_details.admin_details' must be an array of objects.")
        details["admin_details"] = [
            {
                field: _optional_str(admin, field, "org_details.admin_details.")
                for field in _ADMIN_FIELDS
                if admin.get(field) is not None
            }
            for admin in admins
        ]
    return details


def _issuer(ctx: OperationContext) -> Issuer:
    found = vault_state(ctx.vault).issuers.get(ctx.param("issuer").lower())
    if found is None:
        raise ServiceError.certificate_issuer_not_found()
    return found


def set_certificate_issuer(ctx: OperationContext) -> dict[str, Any]:
    """Set Certificate Issuer: PUT /certificates/issuers/{issuer-name}"""
    name = check_name(ctx.param("issuer"))
    if name.lower() in _RESERVED:
        # [I] Self and Unknown are the service's reserved issuer names.
        raise ServiceError.bad_parameter(f"The issuer name '{name}' is reserved.")
    body = ctx.body()
    provider = _optional_str(body, "provider", "")
    if not provider:
        raise ServiceError.missing_field("provider")
    with ctx.vault.lock:
        issuers = vault_state(ctx.vault).issuers
        previous = issuers.get(name.lower())
        created = previous.attributes.created if previous is not None else ctx.now
        # Set replaces the issuer: fields the request leaves out are gone.
        issuer = Issuer(name=name, provider=provider, attributes=Attributes(created=created, updated=ctx.now))
        _apply(issuer, body, ctx.now)
        issuers[name.lower()] = issuer
        return issuer_to_wire(ctx.vault, issuer)


def update_certificate_issuer(ctx: OperationContext) -> dict[str, Any]:
    """Update Certificate Issuer: PATCH /certificates/issuers/{issuer-name}"""
    body = ctx.body()
    with ctx.vault.lock:
        issuer = _issuer(ctx)
        _apply(issuer, body, ctx.now)
        return issuer_to_wire(ctx.vault, issuer)


def get_certificate_issuer(ctx: OperationContext) -> dict[str, Any]:
    """Get Certificate Issuer: GET /certificates/issuers/{issuer-name}"""
    with ctx.vault.lock:
        return issuer_to_wire(ctx.vault, _issuer(ctx))


def delete_certificate_issuer(ctx: OperationContext) -> dict[str, Any]:
    """Delete Certificate Issuer: DELETE /certificates/issuers/{issuer-name}"""
    with ctx.vault.lock:
        issuer = _issuer(ctx)
        del vault_state(ctx.vault).issuers[issuer.name.lower()]
        return issuer_to_wire(ctx.vault, issuer)


def get_certificate_issuers(ctx: OperationContext) -> dict[str, Any]:
    """Get Certificate Issuers: GET /certificates/issuers"""
    with ctx.vault.lock:
        issuers = list(vault_state(ctx.vault).issuers.values())
        return page(
            ctx,
            issuers,
            lambda issuer: issuer.name.lower(),
            lambda issuer: {
                "id": f"{ctx.vault.url}/certificates/issuers/{issuer.name}",
                "provider": issuer.provider,
            },
        )


# -- contacts ----------------------------------------------------------------------------------------------------


def _contacts_to_wire(ctx: OperationContext, contacts: list[dict[str, str]]) -> dict[str, Any]:
    return {"id": f"{ctx.vault.url}/certificates/contacts", "contacts": [dict(contact) for contact in contacts]}


def set_certificate_contacts(ctx: OperationContext) -> dict[str, Any]:
    """Set Certificate Contacts: PUT /certificates/contacts"""
    raw = ctx.body().get("contacts")
    if not isinstance(raw, list):
        raise ServiceError.missing_field("contacts")
    contacts: list[dict[str, str]] = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise ServiceError.bad_parameter("Each contact must be an object with email, name and phone.")
        contact = {key: entry[key] for key in _CONTACT_FIELDS if entry.get(key) is not None}
        if not all(isinstance(value, str) for value in contact.values()):
            raise ServiceError.bad_parameter("The email, name and phone of a contact must be strings.")
        contacts.append(contact)
    with ctx.vault.lock:
        vault_state(ctx.vault).contacts = contacts
        return _contacts_to_wire(ctx, contacts)


def get_certificate_contacts(ctx: OperationContext) -> dict[str, Any]:
    """Get Certificate Contacts: GET /certificates/contacts"""
    with ctx.vault.lock:
        contacts = vault_state(ctx.vault).contacts
        if contacts is None:
            raise ServiceError.contacts_not_found()
        return _contacts_to_wire(ctx, contacts)


def delete_certificate_contacts(ctx: OperationContext) -> dict[str, Any]:
    """Delete Certificate Contacts: DELETE /certificates/contacts"""
    with ctx.vault.lock:
        state = vault_state(ctx.vault)
        if state.contacts is None:
            raise ServiceError.contacts_not_found()
        contacts, state.contacts = state.contacts, None
        return _contacts_to_wire(ctx, contacts)
