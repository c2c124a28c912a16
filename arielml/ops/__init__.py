"""Operator families. Importing this package imports every module in it, and each module registers
its operators in `REGISTRY` (so adding a family is adding a file)."""
import importlib
import pkgutil

from arielml.ops.registry import REGISTRY, OpDef, lookup

_HELPERS = {"registry", "common", "quant_math"}
for _module in pkgutil.iter_modules(__path__):
    if _module.name not in _HELPERS:
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["REGISTRY", "OpDef", "lookup"]
