"""What a container of the example Container App was given, by name and length only (never a value)."""

from __future__ import annotations

import os

NAMES = ("DB_PASSWORD", "STRIPE_API_KEY", "FEATURE_FLAGS", "APP_MODE")

if __name__ == "__main__":
    for name in NAMES:
        value = os.environ.get(name)
        print(f"{name}: {'unset' if value is None else f'{len(value)} chars'}")
