"""Where arielml keeps its build caches (host objects and libraries, cross-built firmware, the
emulator's C hook library). One function decides, for every backend:

    cache_dir("native")                  # $XDG_CACHE_HOME/arielml/native or ~/.cache/arielml/native
    cache_dir("emulator", root="/x")     # /x/emulator (an explicit --cache-dir), must be writable

Without an explicit root, an unusable home (HOME unset, not a directory, read-only, full) falls back
to a per-user directory under the system temporary directory (tempfile.gettempdir(), i.e. $TMPDIR or
/tmp): a cache is an optimisation, and a missing home must not stop a run. An explicit root is the
user's choice and is never silently replaced: if it cannot be written, the error says so.

Paths are made absolute once, here: builds run compilers and linkers in scratch directories, where a
relative cache path would point somewhere else. Entries are installed atomically with a checksum
record and checked before use (`install`, `intact`); builds run in `build_dir`, which cleans up
after itself and after builds that were killed."""
from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import stat
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from arielml.errors import ArielError

KINDS = ("native", "emulator", "emu")  # emu: the emulator's cycle-hook library


def fallback_root() -> Path:
    """The per-user cache under the temporary directory (used when the home cache is unusable)."""
    return absolute(tempfile.gettempdir()) / f"arielml-{os.getuid()}"


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
        directory = absolute(root) / kind
        problem = _writable(directory)
        if problem is not None:
            raise ArielError(f"cannot use the cache directory {directory}: {problem}; pass a writable --cache-dir")
        return directory
    home_root = default_root()
    if home_root is not None and _writable(absolute(home_root) / kind) is None:
        return absolute(home_root) / kind
    return _private_fallback(kind)


def absolute(path: str | Path) -> Path:
    """`path` with ~ expanded, made absolute against the current directory (symlinks are kept)."""
    return Path(os.path.abspath(Path(path).expanduser()))


# --- Integrity and atomic writes -----------------------------------------------------------------
# A cache entry is trusted only when it matches the record written after it: a killed build, a full
# disk or a damaged file must lead to a rebuild, never to loading a truncated library (SIGBUS) or
# parsing a garbled ELF. Every artefact is written under a temporary name in its own directory and
# renamed into place (atomic on POSIX), then its record `<name>.sum` ("<sha256> <size>") is written
# the same way. Concurrent builders of one entry therefore never see each other's half-written files;
# at worst one reader finds a record that does not match yet and rebuilds once more.

SUM_SUFFIX = ".sum"
_CHUNK = 1 << 20


def file_digest(path: Path) -> tuple[str, int]:
    """(sha256 hex, size) of a file's bytes."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that readers see the old file or the whole new one, nothing between."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        _unlink(Path(tmp))
        raise


def install(built: Path, path: Path, mode: int | None = None) -> Path:
    """Move a finished build product into the cache at `path` atomically and record its checksum.
    `built` may be on another file system (then it is copied next to `path` first)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        shutil.copyfile(built, tmp)
        if mode is not None:
            os.chmod(tmp, mode)
        sha, size = file_digest(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        _unlink(Path(tmp))
        raise
    write_atomic(_sum_path(path), f"{sha} {size}\n".encode())
    return path


def intact(path: Path) -> bool:
    """True when `path` exists and matches the checksum recorded when it was installed."""
    try:
        recorded = _sum_path(path).read_text().split()
        return len(recorded) == 2 and (recorded[0], int(recorded[1])) == file_digest(path)
    except (OSError, ValueError):
        return False


def _sum_path(path: Path) -> Path:
    return path.with_name(path.name + SUM_SUFFIX)


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


# --- Build directories -----------------------------------------------------------------------------
# Builds run in `<cache>/build/arielml-build-*`: on the cache's file system (so products are renamed,
# not copied, into place) and never in the shared temporary directory. A live build holds an flock on
# its `.lock` file; the kernel drops the lock when the builder dies, however it dies, so the next build
# removes directories whose lock it can take (flock works across processes and PID namespaces, unlike
# a pid check).

BUILD_PREFIX = "arielml-build-"
_LOCK = ".lock"
_UNLOCKED_GRACE_SECONDS = 600  # a directory without a lock file is a build still being set up, or a very old one
_LEGACY_TEMP_AGE_SECONDS = 3600


@contextmanager
def build_dir(cache: Path) -> Iterator[Path]:
    """A private scratch directory under `<cache>/build`, removed on exit even on error; stale ones
    left by killed builds are removed first."""
    root = Path(cache) / "build"
    root.mkdir(parents=True, exist_ok=True)
    sweep_stale_builds(root)
    work = Path(tempfile.mkdtemp(prefix=BUILD_PREFIX, dir=root))
    lock = open(work / (_LOCK + ".new"), "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        os.replace(work / (_LOCK + ".new"), work / _LOCK)  # visible as ".lock" only once locked
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)
        lock.close()


def sweep_stale_builds(root: Path) -> list[Path]:
    """Remove build directories under `root` whose builder is gone (its lock can be taken), and our
    own `arielml-build-*` directories older than an hour in the system temporary directory (where
    earlier versions built). Returns what was removed."""
    removed = []
    for work in _candidates(root):
        lock_path = work / _LOCK
        try:
            handle = open(lock_path, "r")
        except FileNotFoundError:
            if _age(work) > _UNLOCKED_GRACE_SECONDS:
                shutil.rmtree(work, ignore_errors=True)
                removed.append(work)
            continue
        except OSError:
            continue
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # a live build
            shutil.rmtree(work, ignore_errors=True)
            removed.append(work)
    for work in _candidates(Path(tempfile.gettempdir())):
        try:
            info = work.lstat()
        except OSError:
            continue
        if stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and _age(work) > _LEGACY_TEMP_AGE_SECONDS:
            shutil.rmtree(work, ignore_errors=True)
            removed.append(work)
    return removed


def _candidates(root: Path) -> list[Path]:
    try:
        return [p for p in root.iterdir() if p.name.startswith(BUILD_PREFIX)]
    except OSError:
        return []


def _age(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return 0.0


# --- Build failures ----------------------------------------------------------------------------------

_RELEVANT = re.compile(r"\b(error|fatal|undefined reference|cannot find|no such file|multiple definition)\b", re.I)


def build_failure(what: str, output: str, cache: Path | None) -> str:
    """A short message for a failed compiler or linker run: its first relevant lines (errors before
    warnings and notes), not the whole dump; the full output is kept in `<cache>/last-build-error.log`."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    relevant = [line for line in lines if _RELEVANT.search(line)] or lines
    shown = "; ".join(line if len(line) <= 240 else line[:237] + "..." for line in relevant[:3]) or "(no output)"
    if len(relevant) > 3:
        shown += f"; ... ({len(relevant) - 3} more)"
    message = f"{what} failed: {shown}"
    if cache is not None:
        log = Path(cache) / "last-build-error.log"
        try:
            write_atomic(log, output.encode(errors="replace"))
            message += f" (full compiler output: {log})"
        except OSError:
            pass
    return message
