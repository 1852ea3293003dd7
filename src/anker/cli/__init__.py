"""The ``anker`` command.

Each subcommand lives in its own module of this package and offers
``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``.
User mistakes end in one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
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


def main(argv: Sequence[str] | None = None) -> int:
    from anker.errors import AnkerError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except (AnkerError, FileNotFoundError, IsADirectoryError, PermissionError, ValueError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"anker {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"anker {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
