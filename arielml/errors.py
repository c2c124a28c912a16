"""The one error type users see. Every failure a user can cause is one of these subclasses; the CLI
prints the message on one line and exits non-zero (a traceback only with --debug)."""


class ArielError(Exception):
    """Base of every user-facing error. The message says what went wrong and what to do."""


class ModelFormatError(ArielError):
    """The model file is missing, truncated, corrupt, or not a model format we read."""


class UnsupportedOperatorError(ArielError):
    """The model uses an operator (or an operator variant) that arielml does not implement."""


class InputError(ArielError):
    """Inputs given to a run have the wrong count, shape or dtype."""


class FitError(ArielError):
    """The compiled model does not fit the target's flash or RAM."""


class BuildError(ArielError):
    """A C build (host or cross) failed, or a needed tool is missing."""


class FirmwareFault(ArielError):
    """Emulated firmware faulted: the message names core, PC, symbol and operator."""


class TargetError(ArielError):
    """Unknown target, or an option the target cannot honour (e.g. more cores than it has)."""


class ResourceError(ArielError):
    """The host ran out of a resource (memory) while arielml worked on a valid request."""
