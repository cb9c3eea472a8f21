"""A pod's program reading what the Secrets Store CSI driver mounted: one file per object, re-read on each use so a
rotated secret is picked up (the driver swaps ``..data``; a file opened by name is always a whole version).

    kvconfig mount --spc examples/aks_csi/spc.yaml --dir /tmp/secrets --fake-vault examples/aks_csi/vault.json
    SECRETS_DIR=/tmp/secrets python examples/aks_csi/read_mounted.py
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key

mount = Path(os.environ.get("SECRETS_DIR", "/mnt/secrets-store"))

password = (mount / "db-password").read_text()
certificate = x509.load_pem_x509_certificate((mount / "my-tls-cert").read_bytes())
tls = (mount / "tls.pem").read_bytes()
private_key = load_pem_private_key(tls, password=None)
public_key = load_pem_public_key((mount / "signing-key.pub.pem").read_bytes())

print(f"db-password: <{len(password)} characters>")
print(f"my-tls-cert: {certificate.subject.rfc4514_string()}")
kind = type(private_key).__name__.lstrip("_")
print(f"tls.pem: a {kind} private key and {tls.count(b'BEGIN CERTIFICATE')} certificate(s)")
print(f"signing-key.pub.pem: {type(public_key).__name__.lstrip('_')}")
