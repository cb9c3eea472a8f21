"""Property tests of the Key Vault reference grammar: no crashes, round trips, and no untrusted host ever parses.

They back docs/references.md as a whole: R1-R6 (accepted spellings), R17 (trust) and R21 (round trips) most of all.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kvconfig.errors import ReferenceSyntaxError, UntrustedVaultError
from kvconfig.references import (
    CLOUD_VAULT_SUFFIXES,
    TRUSTED_VAULT_SUFFIXES,
    KeyVaultReference,
    find_references,
    parse_appconfig_reference,
    parse_reference,
)

FUZZ = settings(max_examples=250, deadline=None)
GRAMMAR_ERRORS = (ReferenceSyntaxError, UntrustedVaultError)
APPCONFIG = "application/vnd.microsoft.appconfig.keyvaultref+json"

# Characters that matter to the grammar, so generated text reaches deep into the parser rather than failing at once.
GRAMMAR_ALPHABET = st.sampled_from(
    [
        *"@()=;:/.?#%\\ \t\n-_abcdefvAZ0123456789K",
        *"\u212a\u017f\u0131\u200b",  # Kelvin sign, long s, dotless i, zero-width space: case-folding traps
        *["SecretUri", "VaultName", "SecretName", "SecretVersion", "https://", "http://", "/secrets/", "/keys/"],
        *[
            "vault.azure.net",
            "myvault",
            "@Microsoft.KeyVault(",
            "evil.com",
            ":443",
            "localhost",
            "0123456789abcdef" * 2,
        ],
    ]
)
grammar_text = st.lists(GRAMMAR_ALPHABET, max_size=40).map("".join)

vault_names = st.from_regex(r"[a-z][a-z0-9-]{1,22}[a-z0-9]", fullmatch=True).filter(lambda name: "--" not in name)
secret_names = st.from_regex(r"[0-9A-Za-z-]{1,127}", fullmatch=True)
versions = st.none() | st.from_regex(r"[0-9a-f]{32}", fullmatch=True)
dns_labels = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
trusted_suffixes = st.sampled_from(TRUSTED_VAULT_SUFFIXES)


def _randomise_case(draw: st.DrawFn, text: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(char.upper() if flip else char for char, flip in zip(text, flips, strict=True))


def _spaces(draw: st.DrawFn) -> str:
    return draw(st.sampled_from(["", " ", "  ", "\t"]))


@st.composite
def valid_references(draw: st.DrawFn) -> tuple[str, KeyVaultReference, str]:
    """A reference text in any tolerated spelling, the reference it must parse to, and the cloud to parse it with."""
    vault = draw(vault_names)
    name = draw(secret_names)
    version = draw(versions)
    cloud = draw(st.sampled_from(sorted(CLOUD_VAULT_SUFFIXES)))
    expected = KeyVaultReference(f"https://{vault}.{CLOUD_VAULT_SUFFIXES[cloud]}", name, version)
    if draw(st.booleans()):
        host = _randomise_case(draw, f"{vault}.{CLOUD_VAULT_SUFFIXES[cloud]}") + draw(st.sampled_from(["", ":443"]))
        path = f"/{_randomise_case(draw, 'secrets')}/{name}"
        if version is not None:
            path += "/" + _randomise_case(draw, version)
        path += draw(st.sampled_from(["", "/"]))
        parts = [("SecretUri", f"{_randomise_case(draw, 'https')}://{host}{path}")]
    else:
        parts = [("VaultName", _randomise_case(draw, vault)), ("SecretName", name)]
        if version is not None:
            parts.append(("SecretVersion", _randomise_case(draw, version)))
        parts = draw(st.permutations(parts))
    body = ";".join(
        f"{_spaces(draw)}{_randomise_case(draw, key)}{_spaces(draw)}={_spaces(draw)}{value}{_spaces(draw)}"
        for key, value in parts
    )
    body += draw(st.sampled_from(["", ";", " ; "]))
    prefix = _randomise_case(draw, "@Microsoft.KeyVault(")
    return f"{_spaces(draw)}{prefix}{body}){_spaces(draw)}", expected, cloud


@FUZZ
@given(st.text(max_size=300))
def test_arbitrary_text_parses_or_raises_a_grammar_error(text: str) -> None:
    try:
        result = parse_reference(text)
    except GRAMMAR_ERRORS:
        return
    assert isinstance(result, KeyVaultReference)


@FUZZ
@given(grammar_text)
def test_grammar_like_text_parses_or_raises_a_grammar_error(text: str) -> None:
    for candidate in (text, f"@Microsoft.KeyVault({text})", f"@Microsoft.KeyVault(SecretUri={text})"):
        try:
            result = parse_reference(candidate)
        except GRAMMAR_ERRORS:
            continue
        assert isinstance(result, KeyVaultReference)
        assert parse_reference(str(result)) == result


@FUZZ
@given(st.text(max_size=200) | grammar_text)
def test_find_references_returns_spans_or_raises_a_grammar_error(text: str) -> None:
    try:
        found = find_references(text)
    except GRAMMAR_ERRORS:
        return
    previous_end = 0
    for start, end, ref in found:
        assert previous_end <= start < end <= len(text)
        assert parse_reference(text[start:end]) == ref
        previous_end = end


@FUZZ
@given(st.text(max_size=200) | grammar_text.map(lambda uri: f'{{"uri": "{uri}"}}'))
def test_appconfig_values_parse_or_raise_a_grammar_error(value: str) -> None:
    try:
        result = parse_appconfig_reference(value, APPCONFIG)
    except GRAMMAR_ERRORS:
        return
    assert isinstance(result, KeyVaultReference)


@FUZZ
@given(valid_references())
def test_valid_references_parse_and_round_trip(case: tuple[str, KeyVaultReference, str]) -> None:
    text, expected, cloud = case
    ref = parse_reference(text, cloud=cloud)
    assert ref == expected
    assert parse_reference(str(ref)) == ref
    embedded = text.strip()
    assert find_references(f"x={embedded};y=1", cloud=cloud) == [(2, 2 + len(embedded), ref)]


@st.composite
def untrusted_hosts(draw: st.DrawFn) -> str:
    """Well-formed hosts that are not one label followed by a trusted suffix."""
    labels = draw(st.lists(dns_labels, min_size=1, max_size=4))
    shape = draw(st.sampled_from(["plain", "bare-suffix", "two-labels", "suffix-inside", "port", "hsm"]))
    suffix = draw(trusted_suffixes)
    if shape == "plain":
        host = ".".join(labels)
        for trusted in TRUSTED_VAULT_SUFFIXES:
            if host.endswith(trusted):
                host += ".example"
    elif shape == "bare-suffix":
        host = suffix[1:]
    elif shape == "two-labels":
        host = f"{labels[0]}.{draw(dns_labels)}{suffix}"
    elif shape == "suffix-inside":
        host = f"{labels[0]}{suffix}.{'.'.join(labels)}"
    elif shape == "port":
        port = draw(st.integers(min_value=1, max_value=65535).filter(lambda number: number != 443))
        host = f"{labels[0]}{suffix}:{port}"
    else:
        host = f"{labels[0]}.managedhsm.azure.net"
    return _randomise_case(draw, host)


@FUZZ
@given(untrusted_hosts(), secret_names)
def test_untrusted_hosts_never_parse(host: str, name: str) -> None:
    with pytest.raises(UntrustedVaultError):
        parse_reference(f"@Microsoft.KeyVault(SecretUri=https://{host}/secrets/{name})")
    with pytest.raises(UntrustedVaultError):
        parse_appconfig_reference(f'{{"uri": "https://{host}/secrets/{name}"}}', APPCONFIG)


@FUZZ
@given(st.text(max_size=60) | grammar_text, secret_names)
def test_whatever_parses_without_trusted_hosts_is_a_cloud_vault(netloc: str, name: str) -> None:
    # An oracle independent of the implementation: a successful parse means one DNS label plus a trusted suffix.
    try:
        ref = parse_reference(f"@Microsoft.KeyVault(SecretUri=https://{netloc}/secrets/{name})")
    except GRAMMAR_ERRORS:
        return
    suffixes = "|".join(re.escape(suffix) for suffix in TRUSTED_VAULT_SUFFIXES)
    assert re.fullmatch(rf"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:{suffixes})", ref.vault_host)
