"""Secrets: the operations of the secrets data plane and the seed reader for secrets."""
