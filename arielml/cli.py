"""The `arielml` command. Thin on purpose: each command lives in its own module in
`arielml/commands/` and defines `register(app)`; every module there is picked up automatically, so
adding `compile`, `profile`, `targets` or `bench` is adding a file.

Errors: an ArielError prints one line on stderr and exits 2; any other exception is a bug in arielml
and prints one line saying so (exit 3). `arielml --debug ...` prints the traceback as well."""
from __future__ import annotations

import importlib
import pkgutil
import sys
import traceback
from dataclasses import dataclass

import typer

from arielml.errors import ArielError

EXIT_USER_ERROR = 2
EXIT_BUG = 3


@dataclass
class CliState:
    """Per-invocation state shared with the commands through typer's context object."""

    debug: bool = False


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def build_app() -> typer.Typer:
    app = typer.Typer(name="arielml", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                      help="Run TinyML models bit-exact with TFLite, and in parallel on multi-core microcontrollers.")

    @app.callback()
    def _global(ctx: typer.Context,
                debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors.")) -> None:
        if isinstance(ctx.obj, CliState):
            ctx.obj.debug = debug

    import arielml.commands as commands
    for module in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if module.name.startswith("_"):
            continue  # shared helpers, not commands
        importlib.import_module(f"{commands.__name__}.{module.name}").register(app)
    return app


def main(argv: list[str] | None = None) -> int:
    """Console entry point; returns the exit code (0 success, 1-2 usage or user error, 3 bug)."""
    state = CliState(debug="--debug" in (sys.argv[1:] if argv is None else argv))
    try:
        build_app()(args=argv, prog_name="arielml", obj=state)
    except SystemExit as e:  # typer exits after a command and on usage errors (message already shown)
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except ArielError as e:
        if state.debug:
            traceback.print_exc()
        print(f"error: {_one_line(e)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except Exception as e:  # noqa: BLE001 - anything else is our bug, said as such
        if state.debug:
            traceback.print_exc()
        print(f"internal error (a bug in arielml): {type(e).__name__}: {_one_line(e)} - rerun with "
              "`arielml --debug ...` for the traceback and please report it", file=sys.stderr)
        return EXIT_BUG
    return 0


if __name__ == "__main__":
    sys.exit(main())
