"""Control of who gets in and what happens around each request: tokens, access control, audit, throttling,
injected faults and Event Grid events. Each plugs into the router's hooks (authorizers, listeners, tick hooks).
"""
