"""``anker demo``: the whole ANKER job on the shipped synthetic data, into one folder.

validate -> fit the four tests -> profile -> compare cohorts -> cost-benefit
-> fairness and outcome per coach -> report. Writes ``model.json``,
``profiles.csv``, ``comparison.csv`` and ``report.html`` into ``--out``.

The shipped file was made by ``anker simulate --n-per-cohort 20000 --seed
2005`` and is byte-for-byte reproducible, so the demo regenerates it in
memory: when the bytes match, the true coaching effect is known and shown
next to the estimates; when the file is missing (anker installed without the
repository) the regenerated one is written into ``--out`` and used.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from anker.cli._args import MAX_N_PER_COHORT, whole_number
from anker.cli.report import add_common, command_line

NAME = "demo"
HELP = ("run the whole ANKER job on the shipped synthetic data (validate, fit, profile, "
        "compare, cost-benefit, report) into one folder")
SHIPPED_NAME = "ww_spells_2004_2007.csv"
SHIPPED_SEED = 2005
SHIPPED_N_PER_COHORT = 20_000
STEPS = 9


def shipped_data_path() -> Path:
    """Where the repository keeps the shipped synthetic data (it may not exist)."""
    import anker

    return Path(anker.__file__).resolve().parents[2] / "data" / "synthetic" / SHIPPED_NAME


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="out", help="folder for the results (default out; "
                                                      "created if needed)")
    add_common(parser, n_boot=1000)
    parser.add_argument("--cluster-col", default="auto", metavar="COL",
                        help="resample whole clusters in the bootstrap (default: coach_id; "
                             "'none': spells as independent)")
    # for tests and quick looks: simulate a smaller data set with the shipped seed instead
    parser.add_argument("--n-per-cohort", type=whole_number(100, MAX_N_PER_COHORT), default=None,
                        help=argparse.SUPPRESS)


def _out_folder(path: str) -> Path:
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out: {path!r} is a file, expected a folder for the results")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"--out: cannot create folder {path!r} ({exc.strerror or exc})") from None
    probe = out / ".anker-write-test"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ValueError(f"--out: cannot write into {path!r} ({exc.strerror or exc})") from None
    return out


def _data(out: Path, n_per_cohort: int | None, say) -> tuple[Path, object]:
    """The data file to use and the truth it was made with (None when it is not known)."""
    from anker.report import sha256_of
    from anker.synthetic import simulate_population, write_csv

    n = n_per_cohort or SHIPPED_N_PER_COHORT
    pop = simulate_population(n, SHIPPED_SEED)
    shipped = shipped_data_path()
    if n_per_cohort is None and shipped.is_file():
        with tempfile.TemporaryDirectory() as tmp:
            again = Path(tmp) / SHIPPED_NAME
            write_csv(pop.data, again)
            same = sha256_of(again) == sha256_of(shipped)
        say(f"data: {shipped} ({'identical to' if same else 'DIFFERS from'} anker simulate "
            f"--n-per-cohort {n} --seed {SHIPPED_SEED}"
            f"{', so the true effect is known' if same else '; true effect not shown'})")
        return shipped, (pop.truth if same else None)
    path = out / (SHIPPED_NAME if n_per_cohort is None else f"ww_spells_{n}_per_cohort.csv")
    write_csv(pop.data, path)
    why = "" if n_per_cohort else f" (shipped file {shipped} not found)"
    say(f"data: simulated {2 * n:,} spells with seed {SHIPPED_SEED} -> {path}{why}")
    return path, pop.truth


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from anker.cli._io import read_records, write_table
    from anker.report import write_report
    from anker.report.job import run_job
    from anker.schema import validate

    start = time.perf_counter()
    step = iter(range(1, STEPS + 1))

    def say(line: str) -> None:
        print(f"[{next(step)}/{STEPS}] {line}", flush=True)

    out = _out_folder(args.out)
    print(f"anker demo: the whole ANKER job on synthetic WW data, results in {out}/", flush=True)
    data_path, truth = _data(out, args.n_per_cohort, say)
    data = read_records(str(data_path))
    validate(data)
    say(f"validated {len(data):,} spells x {data.shape[1]} columns against the anker schema: "
        "no problems")

    model_path = out / "model.json"
    lines: list[str] = []
    results = run_job(data, n_boot=args.n_boot, seed=args.seed, horizon=args.horizon,
                      method=args.method, cluster_col=args.cluster_col, say=lines.append)
    results.model.save(model_path)
    say(f"{lines[0]} -> {model_path}")
    profiles = results.profiles.set_index(pd.Index(data["client_id"], name="client_id"))
    write_table(profiles, str(out / "profiles.csv"))
    say(f"{lines[1]} -> {out / 'profiles.csv'}")
    results.comparison.estimates.to_csv(out / "comparison.csv")
    truth_text = (f"; true effect {-truth.coaching_effect_days:+.2f}" if truth is not None else "")
    say(f"{lines[2]}{truth_text} -> {out / 'comparison.csv'}")
    for line in lines[3:]:
        say(line)
    for warning in results.warnings:
        print(f"      note: {warning}", flush=True)

    report_start = time.perf_counter()
    report = write_report(out / "report.html", **results.report_arguments(), truth=truth,
                          data_path=data_path, model_path=model_path, seed=args.seed,
                          command=command_line(NAME, args, [], ["out", "n-boot", "seed",
                                                                "horizon", "method",
                                                                "cluster-col"]))
    say(f"report with {_count_figures(report)} figures ({time.perf_counter() - report_start:.1f} s) "
        f"-> {report}")
    print(f"done in {time.perf_counter() - start:.0f} s. Open the report: {report}", flush=True)
    return 0


def _count_figures(path: Path) -> int:
    return path.read_text(encoding="utf-8").count("<figure>")
