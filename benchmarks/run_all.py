"""Run every ``benchmarks/bench_*.py`` and write the results as Markdown (BENCHMARKS.md).

Each benchmark module has a ``run(...) -> dict`` function returning
``{"title": str, "rows": [{"task", "ours_s", "peer", "peer_s", "ratio",
"note"}, ...], "notes": [str, ...]}`` and optionally ``"figures": [path, ...]``
(images drawn by the benchmark, relative to the repository root; see benchmarks/README.md). This script
discovers the modules, runs them one after the other in this process, and
writes one table per benchmark with the machine it ran on. A module that
fails to import is skipped with a note; one whose ``run`` fails is reported
and makes the exit status 1, after the file is written.

Usage::

    .venv/bin/python benchmarks/run_all.py --out BENCHMARKS.md
    .venv/bin/python benchmarks/run_all.py --only assessments --quick
    .venv/bin/python benchmarks/run_all.py --only assessments --update BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib.util
import inspect
import os
import platform
import re
import subprocess
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
ROW_KEYS = ("task", "ours_s", "peer", "peer_s", "ratio", "note")
OPTIONAL_ROW_KEYS = ("peak_mb",)


# ---- discovery and running -------------------------------------------------------------
def discover(directory: Path = HERE, only: Sequence[str] = ()) -> list[Path]:
    """The ``bench_*.py`` files in ``directory``, sorted; ``only`` filters by name
    (``assessments`` or ``bench_assessments``)."""
    paths = sorted(directory.glob("bench_*.py"))
    if only:
        wanted = {name.removesuffix(".py").removeprefix("bench_") for name in only}
        paths = [p for p in paths if p.stem.removeprefix("bench_") in wanted]
        missing = wanted - {p.stem.removeprefix("bench_") for p in paths}
        if missing:
            raise SystemExit(f"run_all.py: --only: no benchmark named {sorted(missing)} in "
                             f"{directory} (have: {[p.stem for p in directory.glob('bench_*.py')]})")
    return paths


def load(path: Path) -> ModuleType:
    """Import a benchmark module from its file (with its folder importable)."""
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(path.stem, None)
        raise
    if not callable(getattr(module, "run", None)):
        raise AttributeError(f"{path.name} has no run() function")
    return module


def run_module(module: ModuleType, *, quick: bool = False, **sizes: Any) -> dict[str, Any]:
    """Call ``module.run`` (with ``quick`` and ``sizes`` where it accepts them) and
    return its result in the agreed shape."""
    accepted = inspect.signature(module.run).parameters
    takes_all = any(p.kind is p.VAR_KEYWORD for p in accepted.values())
    kwargs = {k: v for k, v in {"quick": quick, **sizes}.items()
              if takes_all or k in accepted}
    result = normalise(module.run(**kwargs), default_title=module.__name__)
    ignored = sorted(k for k, v in {"quick": quick, **sizes}.items() if v and k not in kwargs)
    if ignored:
        result["notes"].append(f"run() accepts no {ignored}: it ran with its defaults")
    return result


def normalise(result: Any, *, default_title: str) -> dict[str, Any]:
    """Accept the agreed shape and near variants (a bare list of rows, missing keys,
    extra keys): missing values become None, extra row keys go into the note,
    extra top-level keys into the notes, and a missing ratio is peer_s / ours_s."""
    if isinstance(result, list):
        result = {"rows": result}
    if not isinstance(result, dict) or not isinstance(result.get("rows", []), list):
        raise TypeError(f"run() must return a dict with a list of rows, got {type(result).__name__}")
    notes = [str(n) for n in result.get("notes", [])]
    for key, value in result.items():
        if key not in ("title", "rows", "notes", "figures"):
            notes.append(f"{key}: {value}")
    rows = []
    for raw in result.get("rows", []):
        row = {key: raw.get(key) for key in ROW_KEYS + OPTIONAL_ROW_KEYS}
        extra = {k: v for k, v in raw.items() if k not in row}
        if extra:
            text = "; ".join(f"{k}={_number(v) if isinstance(v, float) else v}"
                             for k, v in extra.items())
            row["note"] = f"{row['note']}; {text}" if row["note"] else text
        if row["ratio"] is None and _positive(row["ours_s"]) and _positive(row["peer_s"]):
            row["ratio"] = row["peer_s"] / row["ours_s"]
        rows.append(row)
    figures = [str(f) for f in result.get("figures", [])]
    return {"title": str(result.get("title") or default_title), "rows": rows, "notes": notes,
            "figures": figures}


def _positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and value > 0


# ---- the machine --------------------------------------------------------------------------
def machine_info() -> dict[str, str]:
    """Cores, CPU model, memory, load, Python and library versions, BLAS (threadpoolctl)."""
    info = {"cores": f"{os.cpu_count()} cores (os.cpu_count())"}
    if hasattr(os, "sched_getaffinity"):
        info["cores"] += f", {len(os.sched_getaffinity(0))} usable by this process"
    info["cpu"] = _proc_field("/proc/cpuinfo", "model name") or platform.processor() or "unknown"
    mem_kb = _proc_field("/proc/meminfo", "MemTotal")
    info["memory"] = (f"{int(mem_kb.split()[0]) / 1024**2:.1f} GiB" if mem_kb else "unknown")
    info["os"] = platform.platform()
    info["python"] = platform.python_version()
    versions = []
    for name in ("anker", "numpy", "pandas", "scipy", "statsmodels", "lifelines"):
        try:
            versions.append(f"{name} {__import__(name).__version__}")
        except Exception:  # noqa: BLE001 - a missing library is reported, not fatal
            versions.append(f"{name} (not importable)")
    info["libraries"] = ", ".join(versions)
    info["blas"] = _blas_info()
    info["commit"] = _git_commit()
    return info


def _proc_field(path: str, field: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if line.split(":")[0].strip() == field:
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _blas_info() -> str:
    try:
        import numpy  # noqa: F401 - loads the BLAS that threadpoolctl inspects
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    pools = [f"{p.get('internal_api')} {p.get('version')} ({p.get('architecture')}), "
             f"{p.get('num_threads')} threads, {Path(p.get('filepath', '')).name}"
             for p in threadpool_info()]
    return "; ".join(pools) or "none found by threadpoolctl"


def _git_commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, text=True,
                              capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=HERE, text=True, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    # the report being (re)written is not a change to what was measured
    changed = [line[3:] for line in dirty.splitlines()
               if line.strip() and line[3:] != "BENCHMARKS.md"]
    if not changed:
        return head
    shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
    return f"{head}, with uncommitted changes in {shown}"


def _load() -> str:
    try:
        return ", ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


# ---- Markdown -------------------------------------------------------------------------------
def render(results: list[dict[str, Any]], *, command: str, started: _dt.datetime,
           seconds: float, machine: dict[str, str], load_start: str, load_end: str) -> str:
    """The Markdown report. ``results`` items: ``{"module", "seconds", "result"}`` or
    ``{"module", "skipped": reason}`` or ``{"module", "error": text}``."""
    lines = [
        "# Benchmarks", "",
        "Generated by `benchmarks/run_all.py`; do not edit by hand, rerun `make bench`.", "",
        *_run_lines(command=command, started=started, seconds=seconds, machine=machine,
                    load_start=load_start, load_end=load_end), "",
        "Times are wall-clock seconds (`time.perf_counter`). Ratio = peer seconds / anker "
        "seconds, measured in the same run on the same data: above 1 means anker is faster.",
    ]
    for item in results:
        lines += [""] + _section(item)
    return "\n".join(lines) + "\n"


def _run_lines(*, command: str, started: _dt.datetime, seconds: float, machine: dict[str, str],
               load_start: str, load_end: str) -> list[str]:
    return [
        f"- Command: `{command}`",
        f"- Date: {started:%Y-%m-%d %H:%M} UTC (all benchmarks took {seconds:.0f} s)",
        f"- Commit: {machine['commit']}",
        f"- Machine: {machine['cores']}; {machine['cpu']}; {machine['memory']} memory; "
        f"{machine['os']}",
        f"- Load average (1, 5, 15 min) at start {load_start}, at end {load_end}: other "
        "processes on the machine slow both sides of a comparison alike, but not the "
        "absolute times",
        f"- Python {machine['python']}; {machine['libraries']}",
        f"- BLAS: {machine['blas']}",
    ]


def _section(item: dict[str, Any], run: list[str] | None = None) -> list[str]:
    """One benchmark's section: heading, (its own run, when given), table, notes, figures."""
    name = item["module"]
    if "skipped" in item:
        return [f"## `{name}`: skipped", "", f"Not run: {item['skipped']}"]
    if "error" in item:
        return [f"## `{name}`: FAILED", "", "```", item["error"].rstrip(), "```"]
    result = item["result"]
    lines = [f"## {result['title']}", ""]
    if run:
        lines += ["Run on its own (`--update`), after the other sections of this file; "
                  "its run:", "", *run, ""]
    lines += [f"`{name}`, {item['seconds']:.0f} s in all.", ""]
    lines += _table(result["rows"])
    if result["notes"]:
        lines += [""] + [f"- {_cell(note)}" for note in result["notes"]]
    # figures: paths relative to the report (the repository root), drawn by the benchmark
    lines += [line for f in result.get("figures", []) for line in ("", f"![{f}]({f})")]
    return lines


def update(text: str, results: list[dict[str, Any]], run: list[str]) -> str:
    """``text`` (an earlier report) with the sections of ``results`` replaced (or appended):
    each new section says its own run; the other sections are kept as they were."""
    sections = re.split(r"(?m)^(?=## )", text)
    for item in results:
        marker = f"`{item['module']}`"
        new = "\n".join(_section(item, run)) + "\n\n"
        hits = [i for i, part in enumerate(sections)
                if part.startswith("## ") and (f"\n{marker}, " in part or f"## {marker}:" in part)]
        if hits:
            sections[hits[0]] = new
        else:
            sections[-1] = sections[-1].rstrip("\n") + "\n\n"
            sections.append(new)
    return "".join(sections).rstrip("\n") + "\n"


def _table(rows: list[dict[str, Any]]) -> list[str]:
    memory = any(row.get("peak_mb") is not None for row in rows)
    header = ["task", "anker (s)", "peer", "peer (s)", "ratio"] + (["peak MB"] if memory else [])
    out = ["| " + " | ".join(header + ["notes"]) + " |",
           "|" + "|".join(["---"] + ["---:"] + ["---"] + ["---:"] * (2 + memory) + ["---"]) + "|"]
    for row in rows:
        cells = [_cell(row["task"]), _number(row["ours_s"]), _cell(row["peer"]),
                 _number(row["peer_s"]),
                 f"{row['ratio']:.1f}×" if isinstance(row["ratio"], (int, float)) else "—"]
        if memory:
            cells.append(f"{row['peak_mb']:,.0f}" if row.get("peak_mb") is not None else "—")
        out.append("| " + " | ".join(cells + [_cell(row["note"])]) + " |")
    return out


def _number(value: Any) -> str:
    if not isinstance(value, (int, float)):
        return "—" if value is None else _cell(value)
    return f"{value:.3f}" if value < 1 else f"{value:.2f}" if value < 100 else f"{value:.0f}"


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    return str(value).replace("|", "\\|").replace("\n", " ")


# ---- command line -----------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", help="write the Markdown here (default: print it)")
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="run only this benchmark (e.g. assessments); repeatable")
    parser.add_argument("--update", metavar="FILE",
                        help="replace the sections of the benchmarks run (with --only) in FILE, an "
                             "earlier report, and keep its other sections")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes, for a check that everything runs (not for figures)")
    parser.add_argument("--dir", type=Path, default=HERE, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    shown = " ".join(["benchmarks/run_all.py", *(sys.argv[1:] if argv is None else argv)])
    command = f"{os.path.relpath(sys.executable)} {shown}"
    chatty = sys.stderr.isatty()
    started, t0, load_start = _dt.datetime.now(_dt.timezone.utc), time.perf_counter(), _load()
    results: list[dict[str, Any]] = []
    failed = False
    for path in discover(args.dir, args.only):
        if chatty:
            print(f"{path.stem} ...", file=sys.stderr, flush=True)
        try:
            module = load(path)
        except Exception as exc:  # noqa: BLE001 - a broken module is skipped, with its reason
            results.append({"module": path.stem,
                            "skipped": f"import failed: {type(exc).__name__}: {exc}"})
            continue
        start = time.perf_counter()
        try:
            result = run_module(module, quick=args.quick)
        except Exception:  # noqa: BLE001 - one failing benchmark must not hide the others
            failed = True
            results.append({"module": path.stem, "error": traceback.format_exc(limit=8)})
            continue
        results.append({"module": path.stem, "seconds": time.perf_counter() - start,
                        "result": result})
        if chatty:
            print(f"{path.stem}: {time.perf_counter() - start:.0f} s", file=sys.stderr)
    run = dict(command=command, started=started, seconds=time.perf_counter() - t0,
               machine=machine_info(), load_start=load_start, load_end=_load())
    if args.update:
        path = Path(args.update)
        path.write_text(update(path.read_text(encoding="utf-8"), results, _run_lines(**run)),
                        encoding="utf-8")
        return 1 if failed else 0
    text = render(results, **run)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
