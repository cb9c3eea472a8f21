"""Managed HSM administration (the data plane ``azure-keyvault-administration`` talks to): local RBAC role
definitions and assignments (``rbac.py``) and pool settings (``settings.py``); ``operations.py`` composes their
routes."""
