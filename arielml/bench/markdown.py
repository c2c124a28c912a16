"""docs/benchmarks.md is shared by several benchmark commands: each owns one section between its
own begin/end markers and rewrites only that section."""
from __future__ import annotations

from pathlib import Path

from arielml.errors import ArielError

TITLE = "# Benchmarks\n\nGenerated sections are rewritten by the commands they name; text outside them is kept.\n\n"


def update_section(path: Path, section: str, begin: str, end: str) -> None:
    """Replace the text between `begin` and `end` in `path` (markers included) with `section`;
    append it when absent; create the file when missing. Everything else is kept byte for byte."""
    path = Path(path)
    try:
        text = path.read_text() if path.exists() else TITLE
        start, stop = text.find(begin), text.find(end)
        if start >= 0 and stop > start:
            rest = text[stop + len(end):]
            text = text[:start] + section + (rest[1:] if rest.startswith("\n") else rest)
        else:
            text = text.rstrip("\n") + "\n\n" + section
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    except OSError as e:
        raise ArielError(f"cannot write {path}: {e.strerror or e}; choose another --write path") from None
