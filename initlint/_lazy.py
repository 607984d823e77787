"""libcst, imported on first use: a run whose files the prefilter all skips (or that the cache
answers) never pays the ~0.2 s its import costs."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class _LazyModule(ModuleType):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.__dict__["_target"] = name
        self.__dict__["_module"] = None

    def __getattr__(self, attribute: str) -> Any:
        module = self.__dict__["_module"]
        if module is None:
            module = self.__dict__["_module"] = importlib.import_module(self.__dict__["_target"])
        value = getattr(module, attribute)
        self.__dict__[attribute] = value  # later look-ups skip __getattr__
        return value


cst: Any = _LazyModule("libcst")
