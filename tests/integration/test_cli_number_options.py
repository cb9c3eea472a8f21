"""Numbers of seconds on the command line: a range check alone lets ``nan`` through (every comparison with it is
false), so each seconds option refuses it and the infinities in one line, before anything runs."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from kvconfig.cli import cli


@pytest.mark.parametrize("number", ["nan", "NaN", "inf", "-inf"])
@pytest.mark.parametrize(
    "arguments",
    [
        ["fake", "serve", "--port", "0", "--deletion-delay"],
        ["fake", "serve", "--port", "0", "--latency"],
        ["resolve", "--timeout"],
        ["check", "--timeout"],
    ],
)
def test_a_seconds_option_refuses_nan_and_infinities_in_one_line(arguments: list[str], number: str) -> None:
    result = CliRunner().invoke(cli, [*arguments, number])

    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"Invalid value for '{arguments[-1]}'" in result.output


def test_a_finite_number_in_range_is_still_accepted() -> None:
    result = CliRunner().invoke(cli, ["fake", "serve", "--deletion-delay", "301"])

    assert result.exit_code == 2
    assert "301.0 is not in the range 0<=x<=300" in result.output
