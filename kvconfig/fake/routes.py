"""The whole route table: each object kind's operations, then the catalogue's placeholders for the rest.

This is where the object wings are composed (the service and the coverage table both read it), and where the one
cross-wing hook is wired: Get Secret's ``outContentType`` converts a certificate's secret between PFX and PEM with
the certificates wing's material code, which the secrets wing reaches only through
:func:`kvconfig.fake.secrets.operations.register_value_converter`.
"""

from __future__ import annotations

from kvconfig.fake.administration import operations as administration
from kvconfig.fake.certificates import operations as certificates
from kvconfig.fake.certificates.material import convert_secret_value
from kvconfig.fake.core.catalogue import build_route_table
from kvconfig.fake.core.routing import RouteTable
from kvconfig.fake.keys import operations as keys
from kvconfig.fake.secrets import operations as secrets

__all__ = ["route_table"]

secrets.register_value_converter(convert_secret_value)


def route_table() -> RouteTable:
    """A new route table with every operation the fake knows (implemented or not)."""
    return build_route_table(secrets.ROUTES, keys.ROUTES, certificates.ROUTES, administration.ROUTES)
