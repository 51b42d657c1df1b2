"""Physical and numerical ranges, declared once in a constructor's signature.

A parameter written ``bits: Annotated[int, Range(1, 16)]`` tells both the reader and
the config checker (``deepimg.configcheck``) what is accepted, so ``bits=17`` on the
command line fails before any work starts, with a message that names the range.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Range:
    """Closed interval ``[low, high]``; ``None`` leaves that side open."""

    low: float | None = None
    high: float | None = None

    def __contains__(self, value: float) -> bool:
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def __str__(self) -> str:
        low = "-inf" if self.low is None else f"{self.low:g}"
        high = "inf" if self.high is None else f"{self.high:g}"
        return f"{low}..{high}"
