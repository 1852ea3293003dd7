"""Column maps for the data commands: the column flags and a site's ``--config`` TOML file.

A site's records have their own column names and time unit. ``anker fit``,
``profile``, ``compare`` and ``report`` take the same flags (``--tests
--features --duration-col --event-col --cohort-col --reference --covariates
--horizon --time-unit --cluster-col``) and ``--config FILE``, a TOML file with
the same keys, so that a site's set-up is one file::

    [columns]                 # every command
    duration = "spell"
    event = "ended"
    cohort = "ui"

    [compare]                 # one table per command: any of its options
    covariates = ["age", "tenure"]
    horizon = 26
    time_unit = 14
    reference = 0

    [benefit_duration]        # one table per test: its constructor's arguments
    features = ["age", "tenure"]

Flags override the file, the file overrides the defaults; ``anker report``
also reads the ``[fit]`` and ``[compare]`` tables (its own ``[report]`` wins). A key the command
does not know is an error naming the file, table and key, never ignored.
"""

from __future__ import annotations

import argparse
import inspect
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 has the backport (a conditional dependency)
    import tomli as tomllib

from anker.cli._args import positive_number
from anker.errors import AnkerDataError
from anker.schema import resolve_time_unit

TESTS = ("compliance", "labour_market", "reintegration", "benefit_duration")
COMMANDS = ("fit", "profile", "compare", "report")
# [columns] keys and the option each one sets
COLUMN_KEYS = {"duration": "duration_col", "event": "event_col", "cohort": "cohort_col",
               "cluster": "cluster_col", "id": "id_col", "entitlement": "entitlement_col"}
# the list-valued options: comma-separated on the command line, lists in the file
LIST_OPTIONS = ("tests", "features", "covariates")
_REAL_DEFAULTS = "_real_defaults"
# a report fits and compares: it reads the [fit] and [compare] tables too (its own wins)
INHERITS = {"report": ("fit", "compare")}


def horizon_arg(text: str) -> float:
    """An argparse type for a positive horizon, in the unit of ``--time-unit``."""
    try:
        return positive_number(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"must be a positive number (in --time-unit units), "
                                         f"got {text!r}") from None


def time_unit_arg(text: str) -> str:
    """An argparse type for ``day``, ``week``, ``month``, ``year`` or days per unit (``14``)."""
    try:
        resolve_time_unit(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def add_column_arguments(parser: argparse.ArgumentParser, *, horizon_days: float = 365.0) -> None:
    """The column flags and ``--config`` shared by fit, profile, compare and report."""
    group = parser.add_argument_group(
        "columns and site configuration",
        "your records' own column names and time unit; every option can also be set in a "
        "--config TOML file ([columns] duration/event/cohort, one table per command or test); "
        "flags override the file")
    group.add_argument("--config", metavar="FILE", default=None,
                       help="TOML file with the site's columns and options")
    group.add_argument("--tests", metavar="A,B", default=None,
                       help=f"fit / profile only these tests (of {', '.join(TESTS)}; default all)")
    group.add_argument("--features", metavar="A,B,C", default=None,
                       help="feature columns of the tests (default: the schema's inflow features)")
    group.add_argument("--duration-col", metavar="COL", default="duration_days",
                       help="spell length, in --time-unit (default duration_days)")
    group.add_argument("--event-col", metavar="COL", default="exited",
                       help="1 = spell ended by an exit, 0 = censored (default exited)")
    group.add_argument("--cohort-col", metavar="COL", default="cohort",
                       help="column naming the cohort (compare, report; default cohort)")
    group.add_argument("--reference", metavar="COHORT", default=None,
                       help="reference cohort, e.g. 0 on a 0/1 column (default "
                            "casemanagement_2004 when present)")
    group.add_argument("--covariates", metavar="A,B,C", default=None,
                       help="covariates of the cohort comparison (default: the inflow "
                            "covariates; protected attributes only when listed)")
    group.add_argument("--horizon", type=horizon_arg, metavar="T", default=None,
                       help=f"RMST horizon in --time-unit (default {horizon_days:g} calendar days "
                            "in that unit)")
    group.add_argument("--time-unit", type=time_unit_arg, metavar="UNIT", default="day",
                       help="unit of the durations: day, week, month (30.4375 days), year, or "
                            "days per unit, e.g. 14 for two-week periods (default day)")
    group.add_argument("--cluster-col", metavar="COL", default=None,
                       help="bootstrap whole clusters, e.g. coach_id (compare, report)")


def finish_parser(parser: argparse.ArgumentParser) -> None:
    """Remember the options' defaults and set them to None, so that a value the user
    typed can be told from a default: flags override the file, the file the defaults."""
    real = {}
    for action in parser._actions:
        if action.option_strings and action.dest != "help":
            real[action.dest] = action.default
            action.default = None
    parser.set_defaults(**{_REAL_DEFAULTS: (real, {a.dest: a for a in parser._actions})})


def read_config(path: str) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"--config: file {path!r} does not exist")
    try:
        with p.open("rb") as f:
            data = tomllib.load(f)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"--config {path}: not a readable TOML file ({exc})") from None
    known = ("columns", *COMMANDS, *TESTS)
    for table, value in data.items():
        if table not in known:
            raise ValueError(f"--config {path}: unknown table [{table}]; tables are {list(known)}")
        if not isinstance(value, dict):
            raise ValueError(f"--config {path}: {table} must be a table ([{table}])")
    for key in data.get("columns", {}):
        if key not in COLUMN_KEYS and key not in COLUMN_KEYS.values():
            raise ValueError(f"--config {path}: unknown key {key!r} in [columns]; keys are "
                             f"{list(COLUMN_KEYS)}")
    return data


def _as_text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _from_file(action: argparse.Action, value: Any, where: str) -> Any:
    """A value from the file, checked as if typed on the command line."""
    if action.nargs == 0:  # a switch such as --extrapolate
        if not isinstance(value, bool):
            raise ValueError(f"{where}: must be true or false, got {value!r}")
        return value
    text = _as_text(value)
    if action.type is not None:
        try:
            text = action.type(text)
        except (argparse.ArgumentTypeError, ValueError) as exc:
            raise ValueError(f"{where}: {exc}") from None
    if action.choices is not None and text not in action.choices:
        raise ValueError(f"{where}: must be one of {list(action.choices)}, got {value!r}")
    return text


def resolve(args: argparse.Namespace, command: str) -> argparse.Namespace:
    """Fill every option not typed on the command line from ``--config``, then the defaults.

    Sets ``args.typed`` (the options typed on the command line), ``args.given``
    (typed or set by the file), ``args.site`` (the file's contents) and turns
    the list options into lists.
    """
    real, actions = getattr(args, _REAL_DEFAULTS)
    given = {dest for dest in real if getattr(args, dest) is not None}
    site = read_config(args.config) if args.config else {}
    from_file: dict[str, tuple[Any, str]] = {}
    for key, value in site.get("columns", {}).items():
        dest = COLUMN_KEYS.get(key, key)
        from_file[dest] = (value, f"--config {args.config} [columns] {key}")
    for table in INHERITS.get(command, ()) + (command,):
        for key, value in site.get(table, {}).items():
            dest = key.replace("-", "_")
            if table != command and (dest not in real or dest in ("out", "model")):
                continue  # an option of the other command only
            if dest not in real or dest == "config":
                raise ValueError(f"--config {args.config}: unknown key {key!r} in [{command}]; "
                                 f"`anker {command}` takes "
                                 f"{sorted(d for d in real if d != 'config')}")
            from_file[dest] = (value, f"--config {args.config} [{table}] {key}")
    for dest, default in real.items():
        if dest in given:
            continue
        if dest in from_file and dest in actions:
            setattr(args, dest, _from_file(actions[dest], *from_file[dest]))
        else:
            setattr(args, dest, default)
    for dest in LIST_OPTIONS:
        if dest in real:
            setattr(args, dest, names(getattr(args, dest)))
    args.given = given | {d for d in from_file if d in real}
    args.typed = given
    args.site = site
    return args


def names(value: str | Sequence[str] | None) -> list[str] | None:
    """``"a, b"`` or ``["a", "b"]`` -> ``["a", "b"]``; None stays None."""
    if value is None:
        return None
    parts = value.split(",") if isinstance(value, str) else [str(v) for v in value]
    return [p.strip() for p in parts if p.strip()] or None


def build_tests(args: argparse.Namespace) -> dict[str, Any]:
    """The configured (unfitted) tests that ``--tests`` names, with their columns.

    Each test takes, in rising order of precedence, its defaults, the file's
    ``[columns]``, the command's table, the test's own table, then the flags typed.
    """
    from anker.profile import _TESTS

    chosen = args.tests or list(TESTS)
    unknown = [t for t in chosen if t not in TESTS]
    if unknown:
        raise ValueError(f"--tests: unknown test(s) {unknown}; choose from {list(TESTS)}")
    columns = {COLUMN_KEYS.get(k, k): v for k, v in args.site.get("columns", {}).items()}
    out = {}
    for name in chosen:
        cls = _TESTS[name]
        accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
        flags = [d for d in ("features", "duration_col", "event_col", "time_unit")
                 if d in accepted and getattr(args, d, None) is not None]
        kwargs: dict[str, Any] = {k: v for k, v in columns.items() if k in accepted}
        kwargs.update({d: getattr(args, d) for d in flags if d in args.given - args.typed})
        for key, value in args.site.get(name, {}).items():
            dest = COLUMN_KEYS.get(key, key)
            if dest not in accepted:
                raise ValueError(f"--config {args.config}: unknown key {key!r} in [{name}]; "
                                 f"{cls.__name__} takes {sorted(accepted)}")
            kwargs[dest] = value
        kwargs.update({d: getattr(args, d) for d in flags if d in args.typed})
        try:
            out[name] = cls(**kwargs)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"test {name}: {exc}") from None
    return out


def match_label(values, label: Any, *, flag: str = "--reference") -> Any:
    """The cohort value that ``label`` (as typed, a string) names: ``"0"`` on a 0/1 column is 0."""
    if label is None:
        return None
    from anker.outcome.checks import match_cohort  # the API's rule, one for both doors

    found = list(dict.fromkeys(values.dropna().tolist()))
    match = match_cohort(found, label)
    if match is not None:
        return match
    shown = sorted(map(str, found))[:10]
    raise AnkerDataError(f"{flag} {label}: not a cohort in the cohort column (found: {shown}); "
                         f"pass {flag} with one of them", columns=[])


def require(df, columns: Sequence[tuple[str | None, str]], *, data: str) -> None:
    """Raise naming, for each missing column, the flag that points at another one.

    ``columns`` holds (column, flag) pairs.
    """
    missing = [(col, flag) for col, flag in columns if col is not None and col not in df.columns]
    if missing:
        shown = ", ".join(f"{col!r} (set {flag})" for col, flag in missing)
        raise AnkerDataError(f"{data}: column(s) {shown} not in the data; its columns are "
                             f"{list(df.columns)[:20]}", columns=[c for c, _ in missing])


def missing_defaults(df, defaults: Sequence[str], *, flag: str, what: str, data: str) -> None:
    """Default columns (features, covariates) that the records lack: say which flag fixes it."""
    missing = [c for c in defaults if c not in df.columns]
    if missing:
        raise AnkerDataError(
            f"{data}: {len(missing)} of the default {what} are not in the data ({missing}); "
            f"pass {flag} A,B,C with columns of your own records (or set it in --config)",
            columns=missing)


def unused(args: argparse.Namespace, options: Sequence[str], *, why: str) -> None:
    """Say, in one line each, which typed flags this command does not use (never silently)."""
    for dest in options:
        if dest in getattr(args, "typed", ()):
            print(f"anker: warning: --{dest.replace('_', '-')} is not used by anker "
                  f"{args.command} ({why})", file=sys.stderr)


def say_warnings(caught, *, shown: Sequence[str] = ()) -> None:
    """Each distinct warning once, on one line of stderr, with the command line's flags."""
    seen = set(shown)
    for w in caught:
        message = " ".join(str(getattr(w, "message", w)).split())
        message = message.replace("pass extrapolate=True", "pass --extrapolate")
        if message and message not in seen:
            seen.add(message)
            print(f"anker: warning: {message}", file=sys.stderr)
