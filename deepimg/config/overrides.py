"""deepimg's two shorthands on top of Hydra's override grammar.

* ``KEY=A..B`` or ``KEY=A..B:STEP``: an inclusive integer range, swept (implies ``-m``).
* Short keys: ``bits=4`` means ``physical_layer.bits=4`` when exactly one leaf of the
  composed config is named ``bits``; ``KEY`` may also be any dotted suffix of a leaf's path.

Everything else passes through to Hydra untouched.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

from omegaconf import DictConfig

from deepimg.errors import UserError

LISTED = 100  # a longer range is handed to Hydra as range(a,b+1,step)
RANGE = re.compile(r"^(-?\d+)\.\.(-?\d+)(?::(\d+))?$")
OVERRIDE = re.compile(r"^(?P<key>[A-Za-z_][\w.\-/@]*)=(?P<value>.*)$", re.DOTALL)


def expand_range(value: str) -> str | None:
    """``"1..8"`` -> ``"1,2,3,4,5,6,7,8"``; ``"0..10:5"`` -> ``"0,5,10"``; else None."""
    match = RANGE.match(value)
    if not match:
        return None
    start, stop, step = int(match[1]), int(match[2]), int(match[3] or 1)
    if step < 1 or stop < start:
        raise UserError(
            f"range '{value}' is empty; write A..B or A..B:STEP with A <= B and STEP >= 1"
        )
    if (stop - start) // step + 1 > LISTED:  # Hydra's own range: never a list of a million
        return f"range({start},{stop + 1},{step})"
    return ",".join(str(v) for v in range(start, stop + 1, step))


def expand_ranges(args: Sequence[str]) -> tuple[list[str], bool]:
    """Rewrite range shorthands; the flag says whether any was found (so ``-m`` is implied)."""
    out, found = [], False
    for arg in args:
        match = OVERRIDE.match(arg)
        expanded = expand_range(match["value"]) if match else None
        if expanded is not None:
            arg, found = f"{match['key']}={expanded}", True
        out.append(arg)
    return out, found


def leaf_paths(cfg: DictConfig, prefix: str = "") -> Iterable[str]:
    """Dotted paths of every leaf (a value or a list) of a config; ``_target_``-like keys excluded."""
    for key in cfg:
        if str(key).startswith("_") or (not prefix and key == "hydra"):
            continue
        path = f"{prefix}{key}"
        node = cfg._get_node(key)
        if isinstance(node, DictConfig) and not node._is_none():
            yield from leaf_paths(node, path + ".")
        else:
            yield path


def resolve_key(key: str, leaves: Iterable[str], groups: Iterable[str]) -> str:
    """The full path for a short key; the key itself when it is already full (or unknown)."""
    leaves = list(leaves)
    if key in groups or key in leaves or key.startswith("hydra."):
        return key
    matches = [leaf for leaf in leaves if leaf.endswith("." + key)]
    if len(matches) > 1:
        raise UserError(
            f"short key '{key}' is ambiguous: it names {', '.join(matches)}; write the full key"
        )
    return matches[0] if matches else key


def full_path(key: str, groups: set[str]) -> bool:
    """A key that starts at a config group (``trainer.max_epochs``), or Hydra's own: a full
    path already, as no group's node sits inside another's."""
    return key.startswith("hydra.") or (key.partition(".")[0] in groups and "." in key)


def expand_short_keys(
    args: Sequence[str],
    groups: Iterable[str],
    compose: Callable[[list[str]], DictConfig],
) -> list[str]:
    """Replace short keys by full paths, looked up in the config the group choices compose."""
    groups = set(groups)
    plain = [
        (i, m)
        for i, m in enumerate(map(OVERRIDE.match, args))
        if m and m["key"] not in groups and not full_path(m["key"], groups)
    ]
    if not plain:  # nothing short: no config to compose (a quarter of a second)
        return list(args)
    choices = [a for a in args if (m := OVERRIDE.match(a)) and m["key"] in groups]
    # Config folders of one's own (hydra.searchpath=[file://DIR]) hold options too.
    searchpath = [a for a in args if a.startswith("hydra.searchpath=")]
    leaves: set[str] = set()
    for variant in group_variants(choices):
        leaves.update(leaf_paths(compose([*searchpath, *variant])))
    out = list(args)
    for i, m in plain:
        out[i] = f"{resolve_key(m['key'], leaves, groups)}={m['value']}"
    return out


def group_variants(choices: list[str]) -> list[list[str]]:
    """Each option of a swept group choice (``physical_layer=none,quantize``) on its own."""
    variants = [[c.split(",")[0] if "," in c else c for c in choices]]
    for c in choices:
        key, _, value = c.partition("=")
        if "," in value:
            base = [x for x in variants[0] if not x.startswith(key + "=")]
            variants += [[*base, f"{key}={v}"] for v in value.split(",")[1:]]
    return variants
