"""Detector registry: the built-in methods by name, and any detector class by its import path.

A built-in method is a ``Detector`` subclass with a ``name`` in a module of this package; a method declared in
configuration names its class by import path (``methods.<name>.model.detector: package.module.Class``). The
modules are imported on first use, so that listing pipelines imports torch only when a detector is needed.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from typing import Any

from tsad.models.base import Detector

_PACKAGE = "tsad.models"


def builtin() -> dict[str, type[Detector]]:
    """The built-in detector classes by name: every module of this package is imported, and every ``Detector``
    subclass defined there with its own ``name`` is one (so a new method is its module, nothing else here)."""
    modules = {f"{_PACKAGE}.{info.name}" for info in pkgutil.iter_modules(importlib.import_module(_PACKAGE).__path__)}
    for module in sorted(modules):
        importlib.import_module(module)
    return {cls.name: cls for cls in _subclasses(Detector) if cls.__module__ in modules and "name" in vars(cls)}


def available() -> list[str]:
    """Names of the built-in detectors."""
    return sorted(builtin())


def get(method: str) -> type[Detector]:
    """The built-in detector named ``method``, or the class at the import path ``method`` (``pkg.module.Class``)."""
    if "." in method:
        module, _, name = method.rpartition(".")
        try:
            cls = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as error:
            raise ValueError(f"detector {method!r}: cannot import it ({error})") from error
        if not (isinstance(cls, type) and issubclass(cls, Detector)):
            raise ValueError(f"detector {method!r} is not a tsad.models.base.Detector subclass")
        return cls
    found = builtin().get(method)
    if found is None:
        raise ValueError(f"unknown method {method!r}; available: {available()} or a class's import path")
    return found


def build(params: Mapping[str, Any], where: str | None = None) -> Detector:
    """An unfitted detector from model parameters: ``detector`` (an import path) or else ``method`` picks the class.

    Raises:
        ValueError: No such method, or a parameter the method does not know (named, with ``where``).
        TypeError: A parameter of the wrong type (named, with ``where``).
    """
    params = dict(params)
    choice = params.pop("detector", None) or params.get("method")
    if not choice:
        raise ValueError(f"model parameters need a 'method' key (one of {available()}), got {sorted(params)}")
    return get(choice).from_params(params, where)


def from_state(state: Mapping[str, Any], device: str | None = None) -> Detector:
    """A fitted detector rebuilt from its checkpoint dict (its class's import path, else its method name)."""
    return get(state.get("detector") or state["method"]).from_state(state, device=device)


def _subclasses(cls: type) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out += [sub, *_subclasses(sub)]
    return out
