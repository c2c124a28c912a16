"""Writing a generated library into the user's directory (`arielml compile -o DIR`, `compile_model(out_dir=)`).

A second compile into the same directory used to leave the first library's files behind (another
board's port, its linker scripts), and a firmware build that globs `*.c` picked them up. Now every
write records what it wrote in DIR/.arielml-manifest (path and SHA-256 of each file); the next write
removes the files of the old library that the new one does not have. arielml changes only files it
wrote itself and that nobody edited since: a file it would overwrite or remove that is not in the
manifest, or whose bytes changed, makes it refuse before touching anything, with the list."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path, PurePosixPath

from arielml.errors import ArielError

MANIFEST = ".arielml-manifest"
_HEADER = ("# written by arielml: the files of the generated library in this directory (SHA-256, path).\n"
           "# The next `arielml compile -o` here removes those the new library does not have, if unchanged.\n")


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _safe_relative(rel: str) -> bool:
    parts = PurePosixPath(rel).parts
    return bool(parts) and not PurePosixPath(rel).is_absolute() and ".." not in parts and "." not in parts


def read_manifest(out_dir: Path) -> dict[str, str]:
    """path -> SHA-256 of the files arielml last wrote in out_dir (nothing when there is no manifest;
    lines that are not a hash and a plain relative path are ignored: the manifest is only a hint of
    what may be removed, and every removal checks the file's bytes against it)."""
    try:
        text = (out_dir / MANIFEST).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    entries = {}
    for line in text.splitlines():
        digest, _, rel = line.partition(" ")
        if len(digest) == 64 and all(c in "0123456789abcdef" for c in digest) and _safe_relative(rel):
            entries[rel] = digest
    return entries


def _blocked_path(out_dir: Path, rel: str) -> bool:
    """A symlink on the way (writing would land outside out_dir), or a file where a directory must be."""
    path = out_dir
    parts = PurePosixPath(rel).parts
    for depth, part in enumerate(parts, 1):
        path = path / part
        if path.is_symlink() or (depth < len(parts) and path.exists() and not path.is_dir()):
            return True
    return False


def _foreign(out_dir: Path, rel: str, previous: dict[str, str], new_text: str | None) -> bool:
    """True when arielml must not touch out_dir/rel: it exists and is not the unchanged file arielml
    wrote there (new_text: what would be written, None: what would be removed)."""
    path = out_dir / rel
    if _blocked_path(out_dir, rel):
        return True
    if not path.exists():
        return False
    if not path.is_file():
        return True
    current = _digest(path.read_bytes())
    if new_text is not None and current == _digest(new_text.encode()):
        return False  # already what we would write
    return previous.get(rel) != current


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _remove_empty_parents(out_dir: Path, rel: str) -> None:
    parent = (out_dir / rel).parent
    while parent != out_dir:
        try:
            parent.rmdir()  # only when empty
        except OSError:
            return
        parent = parent.parent


def write_library(files: dict[str, str], out_dir: Path) -> list[Path]:
    """Write `files` (relative path -> text) into out_dir, remove the previous library's files that
    are not among them, and record the new set in out_dir/MANIFEST. Returns the paths written (the
    manifest last). Raises ArielError, changing nothing, when a file to overwrite or remove was not
    written by arielml or was edited since, or when out_dir cannot be written."""
    out_dir = Path(out_dir)
    try:
        if out_dir.exists() and not out_dir.is_dir():
            raise ArielError(f"-o {out_dir} is a file, not a directory: pick a directory for the C library")
        previous = read_manifest(out_dir)
        stale = sorted(set(previous) - set(files))
        blocked = [rel for rel, text in files.items() if _foreign(out_dir, rel, previous, text)]
        blocked += [rel for rel in stale if _foreign(out_dir, rel, previous, None)]
        if _blocked_path(out_dir, MANIFEST) or (out_dir / MANIFEST).is_dir():
            blocked.append(MANIFEST)
        if blocked:
            shown = ", ".join(blocked[:5]) + (f" and {len(blocked) - 5} more" if len(blocked) > 5 else "")
            raise ArielError(f"{out_dir} holds files that arielml did not write there or that were edited since: "
                             f"{shown}; arielml overwrites and removes only its own unchanged files - move those "
                             "away, or write the library to another directory (-o)")
        for rel in stale:
            (out_dir / rel).unlink(missing_ok=True)
            _remove_empty_parents(out_dir, rel)
        written = []
        for rel, text in files.items():
            path = out_dir / rel
            data = text.encode()
            if not path.is_file() or path.read_bytes() != data:  # unchanged files keep their time stamps
                _write_atomically(path, data)
            written.append(path)
        manifest = _HEADER + "".join(f"{_digest(text.encode())} {rel}\n" for rel, text in sorted(files.items()))
        _write_atomically(out_dir / MANIFEST, manifest.encode())
    except OSError as e:
        raise ArielError(f"cannot write the C library to {out_dir}: {e.strerror or e}") from None
    return written + [out_dir / MANIFEST]
