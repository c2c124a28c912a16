"""Where arielml keeps its build caches (host objects and libraries, cross-built firmware, the
emulator's C hook library). One function decides, for every backend:

    cache_dir("native")                  # $XDG_CACHE_HOME/arielml/native or ~/.cache/arielml/native
    cache_dir("emulator", root="/x")     # /x/emulator (an explicit --cache-dir), must be writable

Without an explicit root, an unusable home (HOME unset, not a directory, read-only, full) falls back
to a per-user directory under the system temporary directory (tempfile.gettempdir(), i.e. $TMPDIR or
/tmp): a cache is an optimisation, and a missing home must not stop a run. An explicit root is the
user's choice and is never silently replaced: if it cannot be written, the error says so."""
from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from arielml.errors import ArielError

KINDS = ("native", "emulator", "emu")  # emu: the emulator's cycle-hook library


def fallback_root() -> Path:
    """The per-user cache under the temporary directory (used when the home cache is unusable)."""
    return Path(tempfile.gettempdir()) / f"arielml-{os.getuid()}"


def default_root() -> Path | None:
    """$XDG_CACHE_HOME/arielml (when set to an absolute path, as the XDG spec asks) or
    ~/.cache/arielml; None when there is no home directory at all."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "arielml"
    try:
        home = Path.home()
    except (RuntimeError, KeyError):  # HOME unset and no password-database entry
        return None
    return home / ".cache" / "arielml"


def _writable(directory: Path) -> str | None:
    """Create `directory` if needed and prove a file can be written in it. None when usable, else why not."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".probe-"):
            pass
    except OSError as e:
        return e.strerror or str(e)
    return None


def _private_fallback(kind: str) -> Path:
    """The fallback lives in a shared temporary directory: it must be ours and closed to other users
    (someone else could otherwise plant objects that we would load)."""
    root = fallback_root()
    try:
        root.mkdir(mode=0o700, exist_ok=True)
        info = root.lstat()
    except OSError as e:
        raise ArielError(f"no usable build cache: the home cache is not writable and {root} cannot be created "
                         f"({e.strerror or e}); pass --cache-dir DIR with a writable directory") from None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o022:
        raise ArielError(f"no usable build cache: the home cache is not writable and {root} is not a private "
                         f"directory of this user; pass --cache-dir DIR with a writable directory")
    directory = root / kind
    problem = _writable(directory)
    if problem is not None:
        raise ArielError(f"no usable build cache: cannot write {directory} ({problem}); pass --cache-dir DIR "
                         "with a writable directory")
    return directory


def cache_dir(kind: str, root: str | Path | None = None) -> Path:
    """The writable directory for one kind of cache (see KINDS), created if needed.

    root: an explicit cache root (`--cache-dir`); `<root>/<kind>` is used, and an error is raised if it
    cannot be written. None: the user cache (XDG / ~/.cache), or the per-user temporary fallback."""
    if kind not in KINDS:
        raise ValueError(f"unknown cache kind {kind!r}; one of {KINDS}")
    if root is not None:
        directory = Path(root).expanduser() / kind
        problem = _writable(directory)
        if problem is not None:
            raise ArielError(f"cannot use the cache directory {directory}: {problem}; pass a writable --cache-dir")
        return directory
    home_root = default_root()
    if home_root is not None and _writable(home_root / kind) is None:
        return home_root / kind
    return _private_fallback(kind)
