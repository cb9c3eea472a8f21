"""Durations on the command line: as the CSI driver and Kubernetes write them (``90s``, ``2m``, ``1h30m``, ``1d``),
or plain seconds in a range (:class:`Seconds`)."""

from __future__ import annotations

import math
import re
from typing import Any

import click

__all__ = ["Duration", "Seconds"]

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
MAX_SECONDS = 366 * 86400.0


class Duration(click.ParamType):  # type: ignore[type-arg]  # generic only from click 8.2
    """A positive duration in seconds: ``30`` (seconds), ``2m``, ``1h30m``, ``1d``; at most a year."""

    name = "duration"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, (int, float)):
            seconds = float(value)
        else:
            text = str(value).strip().lower()
            if re.fullmatch(r"\d+(?:\.\d+)?", text):
                seconds = float(text)
            elif text and _PART.sub("", text) == "" and len(text) <= 32:
                seconds = sum(float(n) * _SECONDS[unit] for n, unit in _PART.findall(text))
            else:
                self.fail(f"{value!r} is not a duration such as 30s, 2m, 1h or 1d.", param, ctx)
        if not 0 < seconds <= MAX_SECONDS:
            self.fail(f"{value!r} must be more than 0 and at most a year.", param, ctx)
        return seconds


class Seconds(click.FloatRange):
    """A number of seconds in a range (``click.FloatRange``), never ``nan`` or an infinity: a range check lets
    ``nan`` through (every comparison with it is false), and it would reach the code as a number."""

    name = "seconds"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number of seconds.", param, ctx)
        return number
