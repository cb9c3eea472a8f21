"""The status table of ``check`` (``kvconfig.format_status_table``): layout, failure details, no values."""

from __future__ import annotations

from datetime import datetime, timezone

from kvconfig import ReferenceStatus, format_status_table

REFERENCE = "@Microsoft.KeyVault(VaultName=contoso;SecretName=db)"


def test_format_status_table_pads_columns_but_the_reference_and_shortens_versions() -> None:
    statuses = [
        ReferenceStatus(
            "DB_PASSWORD",
            REFERENCE,
            "OK",
            version="0123456789abcdef0123456789abcdef",
            expires_on=datetime(2031, 5, 4, 12, 0, tzinfo=timezone.utc),
        ),
        ReferenceStatus("API_KEY", REFERENCE, "OK"),
    ]

    assert format_status_table(statuses).splitlines() == [
        "SETTING      STATUS  VERSION   EXPIRES     REFERENCE",
        f"DB_PASSWORD  OK      01234567  2031-05-04  {REFERENCE}",
        f"API_KEY      OK      -         -           {REFERENCE}",
    ]


def test_format_status_table_lists_the_detail_of_each_failure_after_a_blank_line() -> None:
    statuses = [
        ReferenceStatus("DB_PASSWORD", REFERENCE, "SecretNotFound", detail="secret 'db' does not exist"),
        ReferenceStatus("API_KEY", REFERENCE, "OK", detail="ignored: the reference resolved"),
    ]

    lines = format_status_table(statuses).splitlines()

    assert lines[3:] == ["", "  DB_PASSWORD: secret 'db' does not exist"]


def test_format_status_table_of_no_statuses_is_the_header_alone() -> None:
    assert format_status_table([]) == "SETTING  STATUS  VERSION  EXPIRES  REFERENCE"
