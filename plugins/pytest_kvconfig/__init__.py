"""pytest plugin for kvconfig: a ``fake_keyvault`` fixture and a ``keyvault_secrets`` marker to seed it."""
