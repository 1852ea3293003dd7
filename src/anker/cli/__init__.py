"""The ``anker`` command.

Each subcommand lives in its own module of this package and offers
``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``.
Every failure ends in one line on stderr and exit status 2, never a traceback:
anker's own errors, bad values, files that cannot be read or written (a full
disk, a symlink loop, a missing optional package) and, as a last resort, an
unexpected error, which is named as one (``ANKER_TRACEBACK=1`` shows its
traceback, for a bug report).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

# subcommand modules, in the order --help lists them
_COMMANDS = ("demo", "simulate", "fit", "profile", "compare", "break_even", "report")
_COMMANDS += ("monitor", "card", "letter")  # accountability: drift, register entry, letters


def _load(module_name: str):
    return importlib.import_module(f"anker.cli.{module_name}")


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line, like every other error."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="anker",
        description="Statistics behind the UWV ANKER model: profile WW claimants, "
        "compare cohorts, test the 3.7-day break-even.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module_name in _COMMANDS:
        try:
            module = _load(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != f"anker.cli.{module_name}":
                raise  # a missing dependency, not a command that is not there yet
            continue
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def _os_message(exc: OSError, args: argparse.Namespace) -> str:
    if exc.strerror and exc.filename:
        return f"{exc.filename}: {exc.strerror}"
    out = getattr(args, "out", None)
    if exc.strerror and out:  # a failed write mid-file (disk full) names no file
        return f"cannot write {out!r}: {exc.strerror}"
    return exc.strerror or str(exc) or type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    from anker.errors import AnkerError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print(f"anker {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("ANKER_TRACEBACK") == "1":
            raise
        if isinstance(exc, (AnkerError, ValueError)):
            message = str(exc)
        elif isinstance(exc, OSError):
            message = _os_message(exc, args)
        elif isinstance(exc, ImportError):
            message = f"a package anker needs for this is missing: {exc}"
        elif isinstance(exc, MemoryError):
            message = "not enough memory for this input; try fewer rows or replicates"
        elif isinstance(exc, RecursionError):
            message = "the input is nested too deeply to read"
        else:  # a bug in anker, not the user's mistake: still one line
            message = (f"unexpected {type(exc).__name__}: {exc} (this is a bug in anker; "
                       "ANKER_TRACEBACK=1 shows the traceback for a report)")
        message = " ".join(message.split()) or type(exc).__name__
        print(f"anker {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
