"""The fake's core: vault state, time, wire values, the errors catalogue, api-versions, clouds, and the router.

Everything here is framework-free and knows nothing of the layers above: control hooks, object kinds, adapters and
the ``FakeKeyVault`` face reach it through :class:`~kvconfig.fake.core.routing.ServiceHost`.
"""
