"""Benchmark: national scale. `anker profile` streamed up to 10 M clients, and the Dask paths.

- ``AnkerModel.profile`` in memory and `anker profile` streamed from a folder
  of Parquet files (100 k clients per file) at each size in ``sizes``: wall
  time and peak memory, each run in its own process (peak = that process's
  maximum resident set, ``VmHWM`` of /proc/self/status, Python and the libraries included).
  The streamed run's peer is the in-memory run on the same rows (read the
  whole folder, profile, write), where it fits in memory.
- The Dask paths on ``dask_rows`` spells in 4 partitions (threads scheduler, the
  frame persisted in memory) against the in-memory path on the same rows: the profile, the naive
  comparison from counts with ``n_boot`` replicates against the same
  Kaplan-Meier / log-rank / bootstrap from rows, the g-computation estimate
  against the in-memory comparison, and the logistic and Cox fits. Each
  row's note says whether the results agree.
- A figure of time and peak memory against rows: ``benchmarks/figures/scale.png``.

Run through ``benchmarks/run_all.py`` (``make bench``) or on its own::

    .venv/bin/python benchmarks/bench_scale.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

import anker

HERE = Path(__file__).resolve().parent
FILE_ROWS = 100_000
SMOKE = {"sizes": (2_000,), "dask_rows": 2_000, "n_boot": 20, "file_rows": 1_000, "figure": False}
QUICK = {"sizes": (100_000, 1_000_000), "dask_rows": 200_000, "n_boot": 200}

_CHILD = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
import pandas as pd
import anker
from anker.cli import main
mode, data, model_path, out = sys.argv[1:5]
start = time.perf_counter()
if mode == "stream":
    code = main(["profile", data, "--model", model_path, "--out", out])
    assert code == 0
else:
    df = pd.read_parquet(data).set_index("client_id", drop=False)
    profiles = anker.AnkerModel.load(model_path).profile(df)
    profiles.to_parquet(out)
seconds = time.perf_counter() - start
# VmHWM: this process's own high-water mark (getrusage's maxrss survives exec, so a child
# started by a large parent would report the parent's)
with open("/proc/self/status") as status:
    peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(json.dumps({"seconds": seconds, "peak_mb": peak_kb / 1024}))
"""


def _child(mode: str, data: Path, model_path: Path, out: Path) -> dict[str, float]:
    result = subprocess.run([sys.executable, "-c", _CHILD, mode, str(data), str(model_path),
                             str(out)], capture_output=True, text=True, env={**os.environ, "CI": "1"})
    if result.returncode != 0:
        raise RuntimeError(f"{mode} profile failed: {result.stderr.strip()[-400:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _timed(fn, *args, **kwargs) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - start, out


def _folders(base: Path, records, sizes, file_rows: int) -> dict[int, Path]:
    """A folder of Parquet files per size. Larger sizes repeat the records with the client
    ids marked per repeat (``-r1``, ...): the reader refuses duplicated spells, also across
    files; a repeat's file is written once and hard-linked into every folder."""
    n_files = -(-len(records) // file_rows)
    written: dict[int, Path] = {}

    def file(k: int) -> Path:
        if k not in written:
            chunk = records.iloc[(k % n_files) * file_rows:][:file_rows]
            if k >= n_files:
                chunk = chunk.assign(client_id=chunk["client_id"].astype(str) + f"-r{k // n_files}")
            written[k] = base / f"base-{k:04d}.parquet"
            chunk.to_parquet(written[k])
        return written[k]

    folders = {}
    for size in sizes:
        folder = base / f"rows_{size}"
        folder.mkdir()
        for k in range(size // file_rows):
            os.link(file(k), folder / f"part-{k:04d}.parquet")
        folders[size] = folder
    return folders


def _profile_rows(sizes, records, model_path: Path, tmp: Path, file_rows: int) -> list[dict]:
    folders = _folders(tmp, records, sizes, file_rows)
    rows = []
    for size in sizes:
        stream = _child("stream", folders[size], model_path, tmp / f"s{size}.parquet")
        memory = None
        if size * 2_000 < 8e9:  # about 2 KB a client for the frame and its profile
            memory = _child("memory", folders[size], model_path, tmp / f"m{size}.parquet")
        rows.append({
            "task": f"`anker profile` streamed from a Parquet folder, {size:,} clients",
            "ours_s": stream["seconds"], "peak_mb": stream["peak_mb"],
            "peer": "read all, `AnkerModel.profile`, write" if memory else None,
            "peer_s": memory["seconds"] if memory else None,
            "note": (f"{size / stream['seconds'] / 1e6:.2f} M clients/s; in-memory peak "
                     f"{memory['peak_mb']:,.0f} MB" if memory else
                     f"{size / stream['seconds'] / 1e6:.2f} M clients/s; in memory: not run "
                     "(the frame alone would need about 2 KB a client)"),
            "_size": size, "_memory": memory,
        })
    return rows


def _dask_rows(records, model, dask_rows: int, n_boot: int) -> list[dict]:
    import dask
    import dask.dataframe as dd

    from anker.distributed import fit_cox_dask, fit_logistic_dask
    from anker.models.cox import fit_cox
    from anker.models.design import DesignSpec
    from anker.models.logistic import fit_logistic
    from anker.survival import bootstrap_km_rmst, logrank_test, rmst

    # the records come cohort by cohort: a random subset holds both
    df = records.sample(n=min(dask_rows, len(records)), random_state=0).reset_index(drop=True)
    rows = []
    with dask.config.set(scheduler="threads"):
        # held in (the workers') memory, as data already in a cluster would be: the timings are
        # those of the distributed algorithms, not of splitting a pandas frame again per call
        ddf = dd.from_pandas(df, npartitions=4).persist()
        t_dask, lazy = _timed(lambda: model.profile(ddf).compute())
        t_mem, memory = _timed(model.profile, df)
        same = bool(lazy.equals(memory))
        rows.append({"task": f"`AnkerModel.profile` on Dask, 4 partitions, {len(df):,} clients",
                     "ours_s": t_dask, "peer": "in memory", "peer_s": t_mem,
                     "note": "identical profile" if same else "DISAGREE: profiles differ"})

        A = (df["cohort"] == "coaching_2007").to_numpy()
        T, E = df["duration_days"].to_numpy(float), df["exited"].to_numpy(float)

        def rows_way():
            r = [rmst(T[A == a], E[A == a], 365) for a in (False, True)]
            return (r, logrank_test(T, E, A), bootstrap_km_rmst(T, E, A, 365, n_boot=n_boot, seed=0,
                                                                reference=False))

        t_counts, cmp = _timed(anker.compare_cohorts, ddf, method="naive", n_boot=n_boot)
        t_rows, (r, lr, _) = _timed(rows_way)
        gap = max(abs(cmp.rmst_difference - (r[1].estimate - r[0].estimate)),
                  abs(cmp.logrank.statistic - lr.statistic))
        rows.append({"task": f"naive comparison from counts on Dask (KM, RMST, log-rank, "
                             f"{n_boot:,} replicates), {len(df):,} spells",
                     "ours_s": t_counts, "peer": "the same from rows, in memory", "peer_s": t_rows,
                     "note": f"agree: max abs diff {gap:.1e}" if gap < 1e-9 else
                     f"DISAGREE: {gap:.1e}"})

        t_gcomp, adjusted = _timed(anker.compare_cohorts, ddf, method="gcomp", n_boot=0)
        t_memory, in_memory = _timed(anker.compare_cohorts, df, method="gcomp", n_boot=0,
                                     outcome="time_on_benefit", exit_reason_col=None)
        gap = max(abs(adjusted.rmst_difference - in_memory.rmst_difference),
                  abs(adjusted.se - in_memory.se))
        rows.append({"task": f"g-computation on Dask (two Cox fits, estimate and influence SE), "
                             f"{len(df):,} spells x {len(adjusted.terms)} terms",
                     "ours_s": t_gcomp, "peer": "`compare_cohorts` in memory (all estimators)",
                     "peer_s": t_memory,
                     "note": (f"agree: estimate and SE max abs diff {gap:.1e}; the peer also "
                              "fits iptw and aipw") if gap < 1e-8 else f"DISAGREE: {gap:.1e}"})

        spec = DesignSpec.learn(df, list(anker.BenefitDurationTest().features))
        X = spec.transform(df)
        for name, ours, peer in (
                ("logistic (work within 6 months)",
                 lambda: fit_logistic_dask(ddf, spec, "work_within_6m"),
                 lambda: fit_logistic(X, df["work_within_6m"].to_numpy(float))),
                ("Cox, Efron ties (benefit duration)", lambda: fit_cox_dask(ddf, spec),
                 lambda: fit_cox(X, T, E))):
            t_ours, fit = _timed(ours)
            t_peer, want = _timed(peer)
            gap = float(max(np.abs(fit.coef - want.coef).max(), np.abs(fit.se - want.se).max()))
            rows.append({"task": f"{name} fit on Dask, 4 partitions, {len(df):,} x "
                                 f"{len(spec.term_names)} terms",
                         "ours_s": t_ours, "peer": "the same fit in memory", "peer_s": t_peer,
                         "note": f"agree: coef and SE max abs diff {gap:.1e}" if gap < 1e-8
                         else f"DISAGREE: {gap:.1e}"})
    return rows


def _figure(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [r["_size"] for r in rows]
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(9, 3.6))
    ax_t.plot(sizes, [r["ours_s"] for r in rows], "o-", label="streamed (anker profile)")
    ax_m.plot(sizes, [r["peak_mb"] / 1024 for r in rows], "o-", label="streamed (anker profile)")
    mem = [r for r in rows if r["_memory"]]
    if mem:
        ax_t.plot([r["_size"] for r in mem], [r["_memory"]["seconds"] for r in mem], "s--",
                  label="in memory")
        ax_m.plot([r["_size"] for r in mem], [r["_memory"]["peak_mb"] / 1024 for r in mem], "s--",
                  label="in memory")
    ax_m.axhline(4, color="grey", lw=0.8, ls=":")
    for ax, label in ((ax_t, "wall time (s)"), (ax_m, "peak memory (GB)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("clients profiled")
        ax.set_ylabel(label)
        ax.legend(fontsize=8)
    fig.suptitle("AnkerModel profile: cost against rows (shared 2-core machine)", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run(*, quick: bool = False, sizes=(100_000, 1_000_000, 10_000_000), dask_rows: int = 1_000_000,
        n_boot: int = 1000, file_rows: int = FILE_ROWS, figure: bool = True) -> dict:
    if quick:
        sizes, dask_rows, n_boot = QUICK["sizes"], QUICK["dask_rows"], QUICK["n_boot"]
    base_rows = max(min(max(sizes), 10 * file_rows), dask_rows)
    caught: list[str] = []
    with warnings.catch_warnings(record=True) as seen, tempfile.TemporaryDirectory() as tmp:
        warnings.simplefilter("always")
        pop = anker.simulate_population(n_per_cohort=base_rows // 2, seed=13).data
        model = anker.AnkerModel().fit(pop.iloc[: min(len(pop), 40_000)])
        model_path = Path(tmp) / "model.json"
        model.save(model_path)
        rows = _profile_rows(sizes, pop, model_path, Path(tmp), file_rows)
        rows += _dask_rows(pop, model, dask_rows, n_boot)
        caught = list(dict.fromkeys(f"{w.category.__name__}: {str(w.message)[:160]}" for w in seen))
    if figure:
        _figure([r for r in rows if "_size" in r], HERE / "figures" / "scale.png")
    for r in rows:
        r.pop("_size", None)
        r.pop("_memory", None)
    notes = [
        f"Records: `simulate_population` ({base_rows:,} spells), model fitted on 40,000; a folder "
        f"holds files of {file_rows:,} clients, larger sizes repeat them with the client ids "
        "marked per repeat (the reader refuses duplicated spells).",
        "Peak memory: the maximum resident set of a fresh process running only that job "
        "(Python, numpy, pandas, pyarrow and anker included); it does not depend on the load of "
        "the machine, the seconds do.",
        "The machine is shared with other engineers' jobs while this runs: times are noisy, "
        "compare the ratios within a row, and read peak memory as the evidence for the 4 GB target.",
        "Figure: benchmarks/figures/scale.png (time and peak memory against rows).",
    ] + [f"warning seen: {c}" for c in caught[:5]]
    return {"title": f"National scale: `anker profile` streamed at {', '.join(f'{s:,}' for s in sizes)} "
                     f"clients; Dask paths on {dask_rows:,} rows in 4 partitions",
            "rows": rows, "notes": notes,
            "figures": ["benchmarks/figures/scale.png"] if figure else []}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    result = run(quick=parser.parse_args().quick)
    for row in result["rows"]:
        print(row)
