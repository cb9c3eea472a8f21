"""RSA private keys with a public exponent ``cryptography`` will not generate (anything but 3 and 65537).

Managed HSM creates RSA keys with any odd public exponent the caller names (the SDK's own tests use 17);
``cryptography``'s ``rsa.generate_private_key`` takes only 3 and 65537.

The primes come from OpenSSL: each attempt generates an ordinary e=65537 key with ``cryptography`` and keeps those
of its primes that also suit the requested exponent (``gcd(e, p - 1) == 1``). OpenSSL's generation already does
what FIPS 186-5 asks of RSA primes (its DRBG, enough Miller-Rabin rounds, the top bits that give the modulus its
exact size, ``|p - q| > 2**(nlen/2 - 100)``); the last condition and ``d > 2**(nlen/2)`` are checked again here,
because the two primes of one key may come from two generations. Every derived number is computed by
``cryptography`` (``rsa_recover_private_exponent``, ``rsa_crt_*``), and ``RSAPrivateNumbers.private_key`` checks
the whole key. Finding the primes in Python instead (``secrets`` and Miller-Rabin) was measured on a 2-core machine
at 0.7 s for a 2048-bit key and 17 s for a 4096-bit one (a 1024-bit modular exponentiation costs CPython about 9 ms);
this way costs 0.1 s and 1 s on average (0.26 s and 2 s on the same loaded machine).
"""

from __future__ import annotations

import math
from typing import Final

from cryptography.hazmat.primitives.asymmetric import rsa

__all__ = ["MAX_PUBLIC_EXPONENT", "generate_rsa_with_exponent"]

MAX_PUBLIC_EXPONENT: Final = 2**31 - 1
"""The largest public exponent accepted: the REST API's ``public_exponent`` is a 32-bit integer."""

# Each prime suits an exponent with probability prod(1 - 1/(r - 1)) over its prime factors r, about 0.2 for the
# worst 32-bit exponent (3*5*7*11*13*17*19*23); 64 generations fail to give two such primes with probability < 1e-9.
_MAX_GENERATIONS: Final = 64
_FAST_EXPONENTS: Final = (3, 65537)


def generate_rsa_with_exponent(bits: int, exponent: int) -> rsa.RSAPrivateKey:
    """A new RSA private key with a modulus of exactly ``bits`` bits and the public exponent ``exponent``.

    ``bits`` is a size ``cryptography`` generates (2048 or more, even); ``exponent`` is odd, at least 3 and at most
    :data:`MAX_PUBLIC_EXPONENT`. 3 and 65537 are ``cryptography``'s own. Raises ``ValueError`` for anything else.
    """
    if exponent < 3 or exponent % 2 == 0 or exponent > MAX_PUBLIC_EXPONENT:
        raise ValueError(f"An RSA public exponent must be odd, from 3 to {MAX_PUBLIC_EXPONENT}, not {exponent}.")
    if exponent in _FAST_EXPONENTS:
        return rsa.generate_private_key(exponent, bits)
    half = bits // 2
    primes: list[int] = []
    for _ in range(_MAX_GENERATIONS):
        donor = rsa.generate_private_key(65537, bits).private_numbers()
        primes.extend(p for p in (donor.p, donor.q) if math.gcd(exponent, p - 1) == 1)
        while len(primes) >= 2:
            p, q = primes.pop(), primes.pop()
            d = rsa.rsa_recover_private_exponent(exponent, p, q)
            if abs(p - q) <= 1 << (half - 100) or d <= 1 << half or (p * q).bit_length() != bits:
                continue
            numbers = rsa.RSAPrivateNumbers(
                p=p,
                q=q,
                d=d,
                dmp1=rsa.rsa_crt_dmp1(d, p),
                dmq1=rsa.rsa_crt_dmq1(d, q),
                iqmp=rsa.rsa_crt_iqmp(p, q),
                public_numbers=rsa.RSAPublicNumbers(exponent, p * q),
            )
            return numbers.private_key()
    raise ValueError(f"No {bits}-bit RSA primes suited the public exponent {exponent} in {_MAX_GENERATIONS} tries.")
