"""Keys: the key store, key operations, cryptographic operations, rotation, and the seed reader for keys."""
