"""The status table of ``check`` (``kvconfig.format_status_table``): layout, failure details, no values; and its
summary line (``kvconfig.format_status_summary``)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from kvconfig import ReferenceStatus, format_status_summary, format_status_table

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


def test_format_status_table_names_where_a_failing_reference_came_from() -> None:
    statuses = [
        ReferenceStatus(
            "DB_PASSWORD", REFERENCE, "SecretNotFound", detail="secret 'db' does not exist", origin="app.env:3"
        )
    ]

    assert format_status_table(statuses).splitlines()[-1] == "  DB_PASSWORD (app.env:3): secret 'db' does not exist"


def test_format_status_table_of_no_statuses_is_the_header_alone() -> None:
    assert format_status_table([]) == "SETTING  STATUS  VERSION  EXPIRES  REFERENCE"


def test_format_status_summary_counts_resolved_references() -> None:
    statuses = [ReferenceStatus("A", REFERENCE, "OK"), ReferenceStatus("B", REFERENCE, "SecretNotFound")]

    assert format_status_summary(statuses) == "1 of 2 references resolved."
    assert format_status_summary([]) == "0 of 0 references resolved."


@pytest.mark.parametrize(
    ("strict", "expected"),
    [
        (False, "3 of 4 references resolved (1 expired, 1 not yet valid)."),
        (True, "1 of 4 references resolved (1 expired, 1 not yet valid)."),
    ],
)
def test_format_status_summary_counts_expired_and_not_yet_valid_secrets_as_resolved_unless_strict(
    strict: bool, expected: str
) -> None:
    statuses = [
        ReferenceStatus("A", REFERENCE, "OK"),
        ReferenceStatus("B", REFERENCE, "SecretExpired"),
        ReferenceStatus("C", REFERENCE, "SecretNotYetValid"),
        ReferenceStatus("D", REFERENCE, "SecretNotFound"),
    ]

    assert format_status_summary(statuses, strict=strict) == expected
