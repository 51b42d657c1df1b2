"""A sweep's variants, for checking: override lists that together hold every value of every
swept key once, as Hydra's grammar reads them (``a,b,c``, ``range(a,b)``, a search's
``interval(a,b)``)."""

from __future__ import annotations

from deepimg.errors import UserError


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
        swept = list(o.sweep_string_iterator())
        value = o.value()
        if searched and isinstance(value, RangeSweep) and not value.shuffle:
            swept.append(str(value.stop))
        return swept

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
