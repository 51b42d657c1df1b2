"""Physical and numerical constraints, declared once in a constructor's signature.

A parameter written ``bits: Annotated[int, Range(1, 16)]`` tells both the reader and
the config checker (``deepimg.config.check_config``) what is accepted, so ``bits=17``
on the command line fails before any work starts, with a message that names the range.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


class Constraint:
    """Metadata for ``typing.Annotated``: ``value in constraint`` says whether it holds."""

    def __contains__(self, value: Any) -> bool:
        raise NotImplementedError


@dataclass(frozen=True)
class Range(Constraint):
    """Closed interval ``[low, high]``; ``None`` leaves that side open."""

    low: float | None = None
    high: float | None = None

    def __contains__(self, value: Any) -> bool:
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def __str__(self) -> str:
        low = "-inf" if self.low is None else number(self.low)
        high = "inf" if self.high is None else number(self.high)
        return f"in {low}..{high}"


def number(value: float) -> str:
    """An integer bound in full (``4294967295``), a float one short (``1e+06``, ``1e-12``)."""
    return str(value) if isinstance(value, int) else f"{value:g}"


def require_int(name: str, value: Any, allowed: Range) -> None:
    """Refuse anything but an integer in ``allowed``, for constructors called from code as
    well as from configs (a bool is an ``int`` to Python, but not a bit depth)."""
    if isinstance(value, bool) or not isinstance(value, int) or value not in allowed:
        raise ValueError(f"{name} must be an integer {allowed}, got {value!r}")


@dataclass(frozen=True)
class Odd(Constraint):
    """An odd integer: a kernel with a centre pixel."""

    def __contains__(self, value: Any) -> bool:
        return isinstance(value, int) and value % 2 == 1

    def __str__(self) -> str:
        return "and odd (a PSF needs a centre pixel)"


@dataclass(frozen=True)
class ExistingDir(Constraint):
    """A path to a folder that exists (``~`` is expanded)."""

    def __contains__(self, value: Any) -> bool:
        return Path(str(value)).expanduser().is_dir()

    def __str__(self) -> str:
        return "naming an existing folder"
