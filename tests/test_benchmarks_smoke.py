"""Smoke tests of benchmarks/: every bench module imports and runs at a tiny size, and
run_all.py writes its report (skipping a module that does not import). Not timed tests:
the figures themselves come from `make bench`."""

from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path

import pytest

BENCH_DIR = Path(__file__).resolve().parents[1] / "benchmarks"
BENCH_MODULES = sorted(BENCH_DIR.glob("bench_*.py"))


def _load_run_all():
    if "run_all" in sys.modules:
        return sys.modules["run_all"]
    spec = importlib.util.spec_from_file_location("run_all", BENCH_DIR / "run_all.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["run_all"] = module
    spec.loader.exec_module(module)
    return module


run_all = _load_run_all()


@functools.cache
def _smoke_result(path: Path) -> dict:
    """Each bench module once per test session, at its SMOKE sizes."""
    module = run_all.load(path)
    smoke = getattr(module, "SMOKE", None)
    if smoke is None:
        pytest.skip(f"{path.name} defines no SMOKE sizes (see benchmarks/README.md)")
    return run_all.run_module(module, **smoke)


@pytest.mark.parametrize("path", BENCH_MODULES, ids=[p.stem for p in BENCH_MODULES])
def test_every_benchmark_runs_at_a_tiny_size(path):
    result = _smoke_result(path)
    assert result["rows"], f"{path.name}: run() returned no rows"
    for row in result["rows"]:
        assert isinstance(row["task"], str) and row["task"]
        assert row["ours_s"] is None or row["ours_s"] >= 0
        if row["peer_s"] is not None and row["ours_s"]:
            assert row["ratio"] == pytest.approx(row["peer_s"] / row["ours_s"])
    assert "DISAGREE" not in " ".join(str(r["note"]) for r in result["rows"])


def test_bench_assessments_compares_like_with_like():
    result = _smoke_result(BENCH_DIR / "bench_assessments.py")
    rows = {r["task"].split(".fit")[0].split(",")[0]: r for r in result["rows"]}
    for test in ("ComplianceTest", "LabourMarketTest", "ReintegrationTest", "BenefitDurationTest"):
        # our coefficients agree with statsmodels / lifelines on the same design
        assert rows[test]["note"].startswith(("agree", "outcome agree")), rows[test]["note"]
        assert "unmatched" not in rows[test]["note"]
    profile = [r for r in result["rows"] if r["task"].startswith("`AnkerModel.profile`")]
    # first call, median, median with one BLAS thread, median with Categorical text columns
    assert len(profile) == 4 and all(r["ours_s"] > 0 for r in profile)
    assert profile[1]["peak_mb"] > 0 and "M clients/s" in profile[1]["note"]
    # the bare Cox fit is timed against the same lifelines run
    bare = next(r for r in result["rows"] if r["task"].startswith("`fit_cox`"))
    assert bare["peer_s"] == rows["BenefitDurationTest"]["peer_s"] and "bar" in bare["note"]


def test_term_names_of_statsmodels_map_onto_ours():
    module = run_all.load(BENCH_DIR / "bench_assessments.py")
    patsy = "C(education, Treatment(reference='low'))[T.high]:trajectory"
    assert module._term_key(patsy) == module._term_key("trajectory:education[high]")
    assert module._term_key("Intercept") == module._term_key("intercept")


def test_run_all_writes_report_and_skips_broken_module(tmp_path):
    (tmp_path / "bench_broken.py").write_text("import no_such_module_for_anker_bench\n")
    (tmp_path / "bench_tiny.py").write_text(
        "def run(quick=False):\n"
        "    return {'title': 'Tiny', 'notes': ['a note'], 'rows': [\n"
        "        {'task': 'square', 'ours_s': 0.5, 'peer': 'loop', 'peer_s': 2.0,\n"
        "         'note': 'a|b', 'replicates': 10}]}\n")
    out = tmp_path / "B.md"
    assert run_all.main(["--dir", str(tmp_path), "--out", str(out)]) == 0
    text = out.read_text()
    assert "`bench_broken`: skipped" in text and "ModuleNotFoundError" in text
    # ratio computed by run_all as peer / ours = 2.0 / 0.5; pipes escaped; extra key kept
    assert "| square | 0.500 | loop | 2.00 | 4.0× | a\\|b; replicates=10 |" in text
    assert "- a note" in text and "os.cpu_count()" in text and "BLAS:" in text


def test_update_replaces_only_the_sections_run(tmp_path):
    for name, value in (("bench_a.py", 1.0), ("bench_b.py", 2.0)):
        (tmp_path / name).write_text(
            f"def run():\n    return {{'title': 'T {name}', 'rows': [{{'task': 'x', "
            f"'ours_s': {value}, 'note': 'first'}}]}}\n")
    out = tmp_path / "B.md"
    assert run_all.main(["--dir", str(tmp_path), "--out", str(out)]) == 0
    before = out.read_text()
    (tmp_path / "bench_b.py").write_text(
        "def run():\n    return {'title': 'T again', 'rows': [{'task': 'x', 'ours_s': 3.0, "
        "'note': 'second'}]}\n")
    (tmp_path / "bench_c.py").write_text("def run():\n    return [{'task': 'y', 'ours_s': 4.0}]\n")
    assert run_all.main(["--dir", str(tmp_path), "--only", "b", "--only", "c",
                         "--update", str(out)]) == 0
    after = out.read_text()
    head, _, rest = before.partition("## T bench_a.py")
    assert after.startswith(head + "## T bench_a.py")             # header and section a kept
    a_section = rest.split("## ")[0]
    assert a_section in after and "first" in a_section
    assert "## T again" in after and "second" in after and "## T bench_b.py" not in after
    assert after.index("## T again") < after.index("## bench_c")   # new section appended
    assert after.count("Run on its own (`--update`)") == 2 and after.count("- Command:") == 3


def test_run_all_reports_a_failing_run_and_exits_1(tmp_path):
    (tmp_path / "bench_fails.py").write_text("def run():\n    raise RuntimeError('boom')\n")
    out = tmp_path / "B.md"
    assert run_all.main(["--dir", str(tmp_path), "--out", str(out), "--quick"]) == 1
    text = out.read_text()
    assert "`bench_fails`: FAILED" in text and "RuntimeError: boom" in text


def test_only_selects_by_short_or_full_name_and_rejects_unknown(tmp_path):
    for name in ("bench_a.py", "bench_b.py"):
        (tmp_path / name).write_text("def run():\n    return []\n")
    assert [p.stem for p in run_all.discover(tmp_path, ["a"])] == ["bench_a"]
    assert [p.stem for p in run_all.discover(tmp_path, ["bench_b"])] == ["bench_b"]
    with pytest.raises(SystemExit, match="no benchmark named"):
        run_all.discover(tmp_path, ["c"])


def test_normalise_accepts_a_bare_list_and_fills_gaps():
    result = run_all.normalise([{"task": "t", "ours_s": 1.0}], default_title="bench_x")
    assert result["title"] == "bench_x" and result["notes"] == []
    assert result["rows"][0]["peer_s"] is None and result["rows"][0]["ratio"] is None
    with pytest.raises(TypeError, match="list of rows"):
        run_all.normalise("nonsense", default_title="bench_x")
