"""The docs site builds with warnings as errors: API reference, notebooks with figures, tutorial.

``sphinx-build -W`` as ``make docs`` runs it. The notebooks are not run a
second time: conftest.py orders this module after tests/test_notebooks.py,
which leaves its executed copies (with their figures) in
docs/_build/executed_notebooks/, and docs/conf.py renders those. Run alone,
the build executes the notebooks itself (minutes, not seconds).
"""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("docs")
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", "-q",
         "-d", str(out / "doctrees"), str(ROOT / "docs"), str(out / "html")],
        capture_output=True, text=True, cwd=ROOT)
    warnings = [line for line in (result.stdout + result.stderr).splitlines()
                if "WARNING" in line or "ERROR" in line]
    assert result.returncode == 0, "\n".join(warnings) or result.stderr[-3000:]
    return out / "html"


def test_built_without_warnings(site):
    assert (site / "index.html").is_file()


def test_every_notebook_is_rendered_with_its_figures(site):
    assert NOTEBOOKS, "no notebooks found"
    for notebook in NOTEBOOKS:
        page = (site / "notebooks" / f"{notebook.stem}.html").read_text()
        # figures are PNG outputs of the executed cells: inline data or files in _images
        figures = re.findall(r'<img[^>]+src="(?:data:image/png|\.\./_images/)', page)
        assert figures, f"{notebook.name}: rendered without figures"


def test_api_reference_comes_from_the_docstrings(site):
    api = "".join(p.read_text() for p in (site / "api").glob("*.html"))
    for name in ("compare_cohorts", "BenefitDurationTest", "AnkerModel", "audit_fairness",
                 "resolve_time_unit", "BreakEven", "survival_curves"):
        assert re.search(rf'id="anker\.(\w+\.)?{name}"', api), name
    # a sentence of a docstring, as written in the source
    assert "P(still on benefit at t) per row" in api


def test_tutorial_runs_the_command_line_on_own_records(site):
    page = (site / "tutorials" / "own_records.html").read_text()
    assert "periods of 14 days" in page and "1 minus 0" in page
    assert "pass --features A,B,C" in page and "pass --covariates A,B,C" in page
    assert "[exit status 1]" not in page  # every command that should work worked
    assert re.search(r"<img[^>]+src=", page), "the tutorial's figure is missing"


def test_tutorial_compares_on_dask_as_in_memory(site):
    page = (site / "tutorials" / "beyond_one_machine.html").read_text()
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    found = re.search(r"g-computation on Dask (-?[\d.]+) weeks, in memory (-?[\d.]+); "
                      r"SE ([\d.]+) and ([\d.]+)", text)
    assert found, "the tutorial's comparison line is missing"
    dask_estimate, memory_estimate, dask_se, memory_se = found.groups()
    assert dask_estimate == memory_estimate and dask_se == memory_se
    assert "method='aipw' cannot run on a Dask frame" in text
    assert "Traceback" not in text and "AssertionError" not in text


def test_architecture_page_is_there(site):
    assert "one package per stage" in (site / "architecture.html").read_text().lower()


def test_command_line_page_shows_the_config_format(site):
    text = re.sub(r"<[^>]+>", "", (site / "cli.html").read_text())  # code is highlighted
    assert "[columns]" in text and "Flags override the file" in text
