"""A sweep's variants, for checking: override lists that together hold every value of every
swept key once, as Hydra's grammar reads them (``a,b,c``, ``range(a,b)``, a search's
``interval(a,b)``)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from deepimg.errors import UserError

MANY = 4  # a numeric sweep of more values: its middle values are checked, not composed


def sweep_variants(overrides: list[str], searched: bool = False) -> list[list[str]]:
    """Override lists that together contain every value of every sweep once. A search
    (``searched``: Optuna) reads ``range(a,b)`` with ``b`` included, unlike a grid: so its
    checks include ``b``."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import RangeSweep
    from hydra.errors import HydraException

    from deepimg.config.compose import one_line

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException as err:
        raise UserError(one_line(err)) from None

    def values(o) -> list[str]:
        if o.is_interval_sweep():  # a search's interval(a,b): both ends are checked
            interval = o.value()
            return [str(interval.start), str(interval.end)]
        if not o.is_sweep_override():
            return []
        value = o.value()
        if isinstance(value, RangeSweep):  # its ends: a range is never listed (1..1000000)
            swept = [str(v) for v in range_ends(value)]
            if searched and not value.shuffle:
                swept.append(str(value.stop))
            return swept
        swept = list(o.sweep_string_iterator())
        return ends(swept) if len(swept) > MANY and all(is_number(v) for v in swept) else swept

    def line(o, value: str | None = None) -> str:
        if value is None:
            swept = values(o)
            if not swept:
                return o.input_line
            value = swept[0]
        return f"{o.get_key_element()}={value}"

    variants = [[line(o) for o in parsed]]
    for i, o in enumerate(parsed):
        for value in values(o)[1:]:
            variants.append([line(p, value) if j == i else line(p) for j, p in enumerate(parsed)])
    return variants


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def ends(values: list[str]) -> list[str]:
    """The smallest and the largest of numeric values, first the one listed first."""
    low, high = min(values, key=float), max(values, key=float)
    return list(dict.fromkeys([values[0], low, high]))


def range_ends(sweep) -> list[float]:
    """The first and the last value of Hydra's ``range(start, stop, step)`` (stop excluded)."""
    count = range_count(sweep)
    if count == 0:
        return []
    last = sweep.start + (count - 1) * sweep.step
    return list(dict.fromkeys([sweep.start, last]))


def range_count(sweep) -> int:
    step = sweep.step if sweep.step is not None else 1
    return max(0, math.ceil((sweep.stop - sweep.start) / step))


@dataclass
class Sweep:
    """What a command line sweeps: the variants to compose and check (every value of a few,
    the ends of many), each numeric list of many values to check against its key's
    annotation alone, and the number of runs (None for a search, whose count is its own)."""

    variants: list[list[str]]
    numbers: dict[str, list[str]] = field(default_factory=dict)
    runs: int | None = 1


def plan_sweep(overrides: list[str], searched: bool = False) -> Sweep:
    """The checks a sweep needs and how many runs it makes, without listing its values."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import ChoiceSweep, RangeSweep
    from hydra.errors import HydraException

    from deepimg.config.compose import one_line

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException as err:
        raise UserError(one_line(err)) from None
    runs: int | None = 1
    numbers: dict[str, list[str]] = {}
    for o in parsed:
        if o.is_interval_sweep():
            runs = None
        elif o.is_sweep_override():
            value = o.value()
            count = range_count(value) if isinstance(value, RangeSweep) else None
            if isinstance(value, ChoiceSweep) and not isinstance(value, RangeSweep):
                listed = list(o.sweep_string_iterator())
                count = len(listed)
                if count > MANY and all(is_number(v) for v in listed):
                    numbers[o.get_key_element()] = listed
            if runs is not None and count is not None:
                runs *= count
    return Sweep(sweep_variants(overrides, searched), numbers, runs)
