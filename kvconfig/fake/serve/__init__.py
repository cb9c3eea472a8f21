"""Ways to reach the fake: azure-core and httpx transports, the ASGI app, the loopback HTTPS emulator with its TLS
and token endpoints, and ``patch()``. Each is a thin shell around the router's ``dispatch``.
"""
