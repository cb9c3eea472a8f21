"""Certificates: policies, issuance, issuers, material, backup, and the seed reader for certificates.

A certificate owns a key and a secret of the same name. That is the one seam between object kinds, and it runs one
way: :mod:`kvconfig.fake.certificates.backing` (and the seed reader) use the keys' store and the secrets' operations;
keys and secrets never import certificates.
"""
