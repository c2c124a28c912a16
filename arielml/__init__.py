"""arielml: compile TinyML models into C that runs in parallel on every core of a multi-core MCU."""
import arielml.ops  # noqa: F401  (fills the operator registry)
from arielml.api import Model, load
from arielml.errors import ArielError

__all__ = ["ArielError", "Model", "load"]
__version__ = "0.1.0"
