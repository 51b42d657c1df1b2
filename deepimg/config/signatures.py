"""The parameters a ``_target_`` accepts, read from its source without importing it.

Checking a config must refuse ``bits=0`` in well under a second, but the classes a config
names live in modules that import torch (1.6 s), torchmetrics (3.2 s) or Lightning (5.1 s).
So the check reads their source with ``ast`` instead: it finds the module's file, follows
``from x import Name`` re-exports, and takes the constructor's parameters (up the base
classes where the constructor passes ``**kwargs`` on; a dataclass's fields), with their
annotations. Annotations are rebuilt from a closed vocabulary — typing's forms,
``Annotated[int, Range(1, 16)]`` and the other constraints of ``config.constraints``, and
type aliases assigned in the module (``Loss = Literal["l1", "mse"]``) — never evaluated as
code; anything else reads as ``Any``. Outside deepimg only the parameter names are taken.

``hints(target)`` returns None where the source cannot be read this way; the caller then
imports the target, as before.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from deepimg.config import constraints

OWN = "deepimg"
TYPING: dict[str, Any] = {
    "Any": Any, "Annotated": Annotated, "Literal": Literal, "Optional": typing.Optional,
    "Union": typing.Union, "Sequence": Sequence, "Mapping": Mapping, "Callable": Callable,
    "Iterator": Iterator, "int": int, "float": float, "str": str, "bool": bool,
    "dict": dict, "list": list, "tuple": tuple, "Dict": dict, "List": list, "Tuple": tuple,
}  # fmt: skip
CONSTRAINTS = {
    name: value
    for name, value in vars(constraints).items()
    if isinstance(value, type) and issubclass(value, constraints.Constraint)
}


@cache
def module_file(name: str) -> Path | None:
    """The source file of module ``name``, found without importing it or its parents."""
    top, *parts = name.split(".")
    if top in sys.modules and hasattr(sys.modules[top], "__path__"):
        locations = list(sys.modules[top].__path__)
    else:
        spec = importlib.util.find_spec(top)  # a top-level name: nothing is executed
        if spec is None:
            return None
        if spec.submodule_search_locations is None:
            return Path(spec.origin) if spec.origin and not parts else None
        locations = list(spec.submodule_search_locations)
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        found = None
        for location in locations:
            package = Path(location) / part
            if (package / "__init__.py").is_file():
                found = package
                break
            if last and (package.with_suffix(".py")).is_file():
                return package.with_suffix(".py")
        if found is None:
            return None
        locations = [str(found)]
    return Path(locations[0]) / "__init__.py"


@cache
def parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def resolve_relative(module: str, level: int, target: str | None, is_package: bool) -> str:
    """``from ..x import y`` inside ``module``: the absolute name of ``..x``."""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join([*base, target] if target else base)


def find(module: str, name: str, depth: int = 0) -> tuple[str, ast.AST] | None:
    """The definition of ``name`` in ``module`` (a class, a function or an assignment),
    following ``from ... import name`` re-exports: (the defining module, its node)."""
    path = module_file(module)
    if path is None or depth > 8:
        return None
    tree = parsed(path)
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)) and node.name == name:
            return module, node
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return module, node
        annotated = isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
        if annotated and node.target.id == name and node.value is not None:
            return module, node
    for node in tree.body:  # re-exported: from x import name (as name)
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if (alias.asname or alias.name) == name:
                    source = (
                        resolve_relative(
                            module, node.level, node.module, path.name == "__init__.py"
                        )
                        if node.level
                        else node.module
                    )
                    if source:
                        return find(source, alias.name, depth + 1)
    return None


def imported_modules(module: str) -> dict[str, str]:
    """``import x.y as z`` and ``from a import b`` in ``module``: local name -> where it is."""
    path = module_file(module)
    names: dict[str, str] = {}
    if path is None:
        return names
    for node in parsed(path).body:
        if isinstance(node, ast.ImportFrom):
            source = (
                resolve_relative(module, node.level, node.module, path.name == "__init__.py")
                if node.level
                else node.module
            )
            for alias in node.names:
                names[alias.asname or alias.name] = f"{source}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name.split(".")[0]] = alias.name
    return names


class Annotations:
    """Rebuilds annotation expressions of one module from a closed vocabulary."""

    def __init__(self, module: str, depth: int = 0) -> None:
        self.module, self.depth = module, depth
        self.imports = imported_modules(module)

    def name(self, identifier: str) -> Any:
        if identifier in TYPING:
            return TYPING[identifier]
        if identifier == "None":
            return None
        where = self.imports.get(identifier)
        if where and where.rpartition(".")[0] == "deepimg.config.constraints":
            return CONSTRAINTS.get(where.rpartition(".")[2], Any)
        if where and where.startswith(f"{OWN}.") and self.depth < 6:  # an alias elsewhere
            module, _, attr = where.rpartition(".")
            return alias(module, attr, self.depth + 1)
        return alias(self.module, identifier, self.depth + 1) if self.depth < 6 else Any

    def build(self, node: ast.AST | None) -> Any:
        if node is None:
            return Any
        if isinstance(node, ast.Constant):
            if isinstance(node.value, str):  # a string annotation: parse it, then build
                try:
                    return self.build(ast.parse(node.value, mode="eval").body)
                except SyntaxError:
                    return Any
            return node.value
        if isinstance(node, ast.Name):
            return self.name(node.id)
        if isinstance(node, ast.Attribute):  # typing.Literal
            return TYPING.get(node.attr, Any)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            left, right = self.build(node.left), self.build(node.right)
            return Any if Any in (left, right) else typing.Union[left, right]  # noqa: UP007
        if isinstance(node, ast.Subscript):
            return self.subscript(node)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return self.constraint(node)
        return Any

    def subscript(self, node: ast.Subscript) -> Any:
        origin = self.build(node.value)
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if origin is Literal:
            values = [i.value for i in items if isinstance(i, ast.Constant)]
            return Literal[tuple(values)] if len(values) == len(items) else Any
        if origin is Annotated:
            base = self.build(items[0])
            marks = [self.build(i) for i in items[1:]]
            marks = [m for m in marks if isinstance(m, constraints.Constraint)]
            return Annotated[(base, *marks)] if marks else base
        if origin is typing.Union:
            args = [self.build(i) for i in items]
            return Any if Any in args else typing.Union[tuple(args)]  # noqa: UP007
        if origin is typing.Optional:
            inner = self.build(items[0])
            return Any if inner is Any else typing.Optional[inner]  # noqa: UP045
        if origin is Callable:
            return Callable
        if origin in (list, Sequence, tuple, dict, Mapping):
            args = tuple(self.build(i) for i in items if not isinstance(i, ast.List))
            try:
                return origin[args if len(args) > 1 else args[0]]
            except (TypeError, IndexError):
                return origin
        return Any

    def constraint(self, node: ast.Call) -> Any:
        kind = self.name(node.func.id)
        if not (isinstance(kind, type) and issubclass(kind, constraints.Constraint)):
            return Any
        try:
            args = [self.constant(a) for a in node.args]
            kwargs = {k.arg: self.constant(k.value) for k in node.keywords if k.arg}
        except ValueError:
            return Any
        return kind(*args, **kwargs)

    def constant(self, node: ast.AST) -> Any:
        """A literal, or a module-level constant by name (``MIN_WIDTH_NM = 5.0``)."""
        if isinstance(node, ast.Name):
            found = find(self.module, node.id)
            if found is not None and isinstance(found[1], ast.Assign):
                return Annotations(found[0], self.depth + 1).constant(found[1].value)
            raise ValueError(f"{node.id} is not a constant")
        return ast.literal_eval(node)


@cache
def alias(module: str, name: str, depth: int = 0) -> Any:
    """A type alias assigned in ``module`` (``Loss = Literal["l1", "mse"]``), rebuilt."""
    found = find(module, name)
    if found is None:
        return Any
    where, node = found
    if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
        return Annotations(where, depth).build(node.value)
    return Any


def parameters(
    where: str, node: ast.FunctionDef, own: bool, skip_first: bool
) -> tuple[dict[str, Any], bool]:
    """A function's parameters with their rebuilt annotations (``Any`` outside deepimg),
    and whether it takes ``**kwargs``."""
    build = Annotations(where).build if own else (lambda _: Any)
    args = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
    args = args[1:] if skip_first and args else args
    return {a.arg: build(a.annotation) for a in args}, node.args.kwarg is not None


def is_dataclass(node: ast.ClassDef) -> bool:
    def named(d: ast.AST) -> str:
        d = d.func if isinstance(d, ast.Call) else d
        return d.id if isinstance(d, ast.Name) else d.attr if isinstance(d, ast.Attribute) else ""

    return any(named(d) == "dataclass" for d in node.decorator_list)


def class_hints(
    where: str, node: ast.ClassDef, depth: int = 0
) -> tuple[dict[str, Any], bool] | None:
    """A class's constructor parameters, following ``**kwargs`` up its bases."""
    own = where == OWN or where.startswith(f"{OWN}.")
    if is_dataclass(node):
        build = Annotations(where).build if own else (lambda _: Any)
        fields = {
            n.target.id: build(n.annotation)
            for n in node.body
            if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)
            and "ClassVar" not in ast.unparse(n.annotation)
        }  # fmt: skip
        return fields, False
    init = next(
        (n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None
    )
    hints: dict[str, Any] = {}
    if init is not None:
        hints, open_kwargs = parameters(where, init, own, skip_first=True)
        if not open_kwargs or not own:  # outside deepimg, **kwargs stay open: not followed
            return hints, open_kwargs
    for base in node.bases:  # the constructor passes **kwargs on (or has none of its own)
        name = ast.unparse(base)
        if name in ("object", "ABC", "Generic") or depth > 8:
            continue
        imports = imported_modules(where)
        module, _, attr = imports.get(name.split(".")[0], f"{where}.{name}").rpartition(".")
        if "." in name:  # nn.Module, pl.LightningDataModule: a base outside: open
            return hints, True
        found = find(module, attr)
        if found is None or not isinstance(found[1], ast.ClassDef):
            return hints, True
        inherited = class_hints(found[0], found[1], depth + 1)
        if inherited is None:
            return None
        for key, value in inherited[0].items():
            hints.setdefault(key, value)
        return hints, inherited[1]
    return hints, init is not None  # **kwargs that no base closes


def hints(target: str) -> tuple[dict[str, Any], bool] | None:
    """``target``'s parameters (name -> annotation) and whether it takes any other keyword
    (``**kwargs`` that no base class closes); None where the source cannot be read."""
    module, _, name = target.rpartition(".")
    try:
        found = find(module, name)
    except (OSError, SyntaxError, ValueError):
        return None
    if found is None:
        return None
    where, node = found
    own = where == OWN or where.startswith(f"{OWN}.")
    if isinstance(node, ast.FunctionDef):
        return parameters(where, node, own, skip_first=False)
    if isinstance(node, ast.ClassDef):
        return class_hints(where, node)
    return None
