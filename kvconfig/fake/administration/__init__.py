"""Managed HSM administration (the data plane ``azure-keyvault-administration`` talks to): local RBAC role
definitions and assignments (``rbac.py``), pool settings (``settings.py``), full backup and restore and selective key
restore (``backup.py``); ``operations.py`` composes their routes."""
