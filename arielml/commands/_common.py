"""Helpers shared by the CLI commands: consoles, JSON output, locating the zoo."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from rich.console import Console

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_ZOO = REPO_ROOT.parent / "shared" / "zoo"


def stdout_console() -> Console:
    return Console(highlight=False)


def stderr_console() -> Console:
    return Console(stderr=True, highlight=False)


def check_seed(seed: int | None) -> None:
    """--random SEED: numpy's generators take non-negative integers only; refuse the rest as a user error."""
    from arielml.errors import InputError
    if seed is not None and seed < 0:
        raise InputError(f"--random takes a seed >= 0 (numpy's random generators accept non-negative integers), "
                         f"got {seed}")


def mathtext_literal(text: str) -> str:
    """User text for a matplotlib label: a `$` would start mathtext (and a malformed formula fails
    only when the PNG is drawn, after the run), so every one is escaped."""
    return text.replace("$", r"\$")


def print_json(obj: dict) -> None:
    """One JSON object on stdout (and nothing else there), for scripts."""
    sys.stdout.write(json.dumps(obj, indent=2, default=_json_default) + "\n")
    sys.stdout.flush()


def _json_default(value):
    import numpy as np
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
