"""Loading what the user names: ``path/to/file.py:Name`` or ``package.module:Name``. Importing
the target runs its code, as pytest does when it collects a test file."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

from initlint.probe.errors import ProbeError


def split_spec(spec: str, what: str) -> tuple[str, str]:
    location, sep, name = spec.rpartition(":")
    if not sep or not location or not name or (len(location) == 1 and location.isalpha()):
        raise ProbeError(f"{what} {spec!r} is not of the form path/to/file.py:Name or package.module:Name")
    return location, name


def load_file(path: Path, verbose: bool = False) -> ModuleType:
    """Import a Python file under a private module name, with its folder on sys.path (so that
    its sibling imports work). Raises ProbeError when it is missing or raises on import."""
    if not path.is_file():
        raise ProbeError(f"file not found: {path}")
    resolved = path.resolve()
    name = "_initlint_probe_" + hashlib.sha1(str(resolved).encode()).hexdigest()[:12]
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, resolved)
    if spec is None or spec.loader is None:
        raise ProbeError(f"cannot import {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    folder = str(resolved.parent)
    added = folder not in sys.path
    if added:
        sys.path.insert(0, folder)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:
        sys.modules.pop(name, None)
        if verbose:
            traceback.print_exc()
        raise ProbeError(f"{path} raised on import: {type(exc).__name__}: {exc}") from exc
    finally:
        if added and folder in sys.path:
            sys.path.remove(folder)
    return module


def load_module(location: str, verbose: bool = False) -> ModuleType:
    if location.endswith(".py") or "/" in location or "\\" in location:
        return load_file(Path(location), verbose)
    if str(Path.cwd()) not in sys.path and "" not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        return importlib.import_module(location)
    except ModuleNotFoundError as exc:
        if exc.name and location.startswith(exc.name):
            raise ProbeError(f"module not found: {location}") from exc
        if verbose:
            traceback.print_exc()
        raise ProbeError(f"{location} raised on import: {type(exc).__name__}: {exc}") from exc
    except Exception as exc:
        if verbose:
            traceback.print_exc()
        raise ProbeError(f"{location} raised on import: {type(exc).__name__}: {exc}") from exc


def load_object(spec: str, what: str = "target", verbose: bool = False) -> Any:
    location, name = split_spec(spec, what)
    module = load_module(location, verbose)
    obj: Any = module
    for part in name.split("."):
        if not hasattr(obj, part):
            raise ProbeError(f"{what} {name!r} not found in {location}")
        obj = getattr(obj, part)
    return obj


def missing_arguments(factory: Any, args: list[Any], kwargs: dict[str, Any]) -> list[str]:
    """Names of the required parameters that args/kwargs leave unbound."""
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return []
    try:
        signature.bind(*args, **kwargs)
    except TypeError:
        pass
    else:
        return []
    params = list(signature.parameters.values())
    missing = []
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    for index, param in enumerate(positional):
        if param.default is param.empty and index >= len(args) and param.name not in kwargs:
            missing.append(param.name)
    for param in params:
        if param.kind == param.KEYWORD_ONLY and param.default is param.empty and param.name not in kwargs:
            missing.append(param.name)
    return missing


def build(factory: Any, args: list[Any], kwargs: dict[str, Any], label: str, verbose: bool = False) -> Any:
    """Call a module class or factory; ProbeError when it needs arguments or fails."""
    import torch

    if not callable(factory):
        raise ProbeError(f"{label} is not a class or function")
    missing = missing_arguments(factory, args, kwargs)
    if missing:
        names = ", ".join(missing)
        raise ProbeError(
            f"{label} needs arguments: {names}",
            hint=f"pass them with --args '[...]' or --kwargs '{{\"{missing[0]}\": ...}}'",
        )
    try:
        model = factory(*args, **kwargs)
    except torch.OutOfMemoryError as exc:
        raise ProbeError(f"out of memory while building {label}", hint="try --device cpu or a smaller model") from exc
    except Exception as exc:
        if verbose:
            traceback.print_exc()
        raise ProbeError(f"building {label} failed: {type(exc).__name__}: {exc}") from exc
    if not isinstance(model, torch.nn.Module):
        raise ProbeError(f"{label} returned {type(model).__name__}, not a torch.nn.Module")
    return model
