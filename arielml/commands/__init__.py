"""Commands of the `arielml` CLI, one module each. A module defines `register(app: typer.Typer)`
and is picked up automatically by `arielml.cli` (so a new command is a new file here).

Shared helpers for commands live in `arielml.commands._common` (modules starting with `_` are skipped)."""
