"""Physical and numerical constraints, declared once in a constructor's signature.

A parameter written ``bits: Annotated[int, Range(1, 16)]`` tells both the reader and
the config checker (``deepimg.config.check_config``) what is accepted, so ``bits=17``
on the command line fails before any work starts, with a message that names the range.
"""

from __future__ import annotations

import os
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union


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


def accepts(hint: Any, value: Any) -> bool:
    """Whether ``value`` (from YAML, the command line or Python) fits the annotation ``hint``.

    OmegaConf's ``ListConfig`` and ``DictConfig`` are a ``Sequence`` and a ``Mapping``, so a
    config node and a plain list or dict are judged alike.
    """
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any or isinstance(hint, typing.TypeVar):
        return True
    if origin is Annotated:
        constraints = [m for m in hint.__metadata__ if isinstance(m, Constraint)]
        return accepts(args[0], value) and all(value in c for c in constraints)
    if origin in (Union, types.UnionType):
        return any(accepts(a, value) for a in args)
    if origin is Literal:
        return value in args
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin in (list, tuple, Sequence) or hint in (list, tuple):
        if isinstance(value, str) or not isinstance(value, Sequence):
            return False
        item = args[0] if args and origin is not tuple else Any
        return all(accepts(item, v) for v in value)
    if origin is dict or hint is dict:
        return isinstance(value, Mapping)
    if hint in (Path, os.PathLike) or origin is os.PathLike:
        return isinstance(value, str)
    # Tensors, callables, modules...: no YAML value is one (nested `_target_`s are skipped).
    return False


def describe(hint: Any) -> str:
    """An annotation in words, for error messages: ``Annotated[int, Range(1, 16)]`` -> an integer in 1..16."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Annotated:
        constraints = [m for m in hint.__metadata__ if isinstance(m, Constraint)]
        return describe(args[0]) + "".join(f" {c}" for c in constraints)
    if origin in (Union, types.UnionType):
        return " or ".join(describe(a) for a in args)
    if origin is Literal:
        return "one of " + ", ".join(str(a) for a in args)
    names = {
        int: "an integer",
        float: "a number",
        bool: "true or false",
        str: "a string",
        type(None): "null",
    }
    if hint in names:
        return names[hint]
    if origin in (list, tuple, Sequence) or hint in (list, tuple):
        plural = {int: "integers", float: "numbers", str: "strings", bool: "booleans"}
        if not args or origin is tuple:
            return "a list"
        if typing.get_origin(args[0]) is Annotated:
            return f"a list of values, each {describe(args[0])}"
        if typing.get_origin(args[0]) in (list, tuple, Sequence):
            return f"a list of rows, each {describe(args[0])}"
        return f"a list of {plural.get(args[0], 'values')}"
    return getattr(hint, "__name__", str(hint))
