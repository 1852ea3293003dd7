"""Every notebook in notebooks/ runs from top to bottom without an error.

Notebooks are found by file name, so a new ``notebooks/NN_*.ipynb`` is run
without touching this file. Each runs in a fresh ``python3`` kernel in the
notebooks folder (so ``../data/...`` paths work), with matplotlib's
inline backend (Agg, keeping each figure as an output: the executed copies in
docs/_build/executed_notebooks/ are what the docs build renders). The kernel must be this interpreter (the
project's virtual environment): a kernel from another Python would import
another ``anker``, or none. The module fixture checks that by asking the
kernel for its ``sys.prefix``; if the ``python3`` kernelspec points
elsewhere, it writes one for this interpreter into a temporary directory on
``JUPYTER_PATH`` instead of touching the user's home.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
KERNEL_NAME = "python3"
CELL_TIMEOUT_SECONDS = 600
# executed copies, with their figures, for the docs build (tests/test_docs.py runs after this)
EXECUTED_DIR = ROOT / "docs" / "_build" / "executed_notebooks"
# the inline backend draws with Agg and also keeps each figure as a PNG output
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def _client(nb: nbformat.NotebookNode) -> NotebookClient:
    return NotebookClient(nb, kernel_name=KERNEL_NAME, timeout=CELL_TIMEOUT_SECONDS,
                          resources={"metadata": {"path": str(NOTEBOOK_DIR)}})


def _kernel_prefix(env: dict[str, str]) -> str:
    """``sys.prefix`` of the Python the kernel runs, or why it could not be asked."""
    probe = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("import sys; print(sys.prefix, end='')")])
    client = _client(probe)
    try:
        outputs = client.execute(env=env).cells[0].outputs
    except Exception as err:  # a kernelspec for a Python without ipykernel dies on start
        # nbclient leaves its exit-time cleanup registered for a kernel that never started
        atexit.unregister(client._cleanup_kernel)
        return f"<kernel did not start: {type(err).__name__}: {err}>"
    return "".join(o.get("text", "") for o in outputs if o.output_type == "stream")


def _write_kernelspec(jupyter_dir: Path) -> None:
    """A ``python3`` kernelspec that starts this interpreter."""
    spec_dir = jupyter_dir / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": f"Python 3 ({sys.prefix})", "language": "python"}
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory):
    """Environment for the notebook kernels, checked to start this interpreter."""
    env = dict(os.environ, MPLBACKEND=INLINE_BACKEND)
    with pytest.MonkeyPatch.context() as mp:
        prefix = _kernel_prefix(env)
        if prefix != sys.prefix:
            # the kernelspec is looked up in the test process: JUPYTER_PATH comes first
            jupyter_dir = tmp_path_factory.mktemp("jupyter")
            _write_kernelspec(jupyter_dir)
            path = os.pathsep.join(filter(None, [str(jupyter_dir), os.environ.get("JUPYTER_PATH")]))
            mp.setenv("JUPYTER_PATH", path)
            env["JUPYTER_PATH"] = path
            prefix = _kernel_prefix(env)
        spec = KernelSpecManager().get_kernel_spec(KERNEL_NAME)
        assert prefix == sys.prefix, (
            f"the {KERNEL_NAME!r} kernel runs the Python in {prefix!r}, not this one in "
            f"{sys.prefix!r} (kernelspec {spec.resource_dir}: {spec.argv})")
        yield env


def test_notebooks_found():
    # a glob that silently matches nothing would make this whole module pass
    assert [p.name for p in NOTEBOOKS][:1] == ["01_synthetic_data.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_saved_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    with_outputs = [i for i, cell in enumerate(nb.cells)
                    if cell.cell_type == "code" and (cell.outputs or cell.execution_count)]
    assert not with_outputs, (f"{path.name}: clear the outputs before committing "
                              f"(code cells {with_outputs} have outputs or execution counts)")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path, kernel_env):
    nb = nbformat.read(path, as_version=4)
    failure = None
    try:
        _client(nb).execute(env=kernel_env)
    except CellExecutionError as err:
        # the message holds the failing cell's source and its traceback (without colour codes)
        failure = ANSI_ESCAPE.sub("", str(err))
    if failure is not None:
        pytest.fail(f"{path.name}: a cell failed\n{failure}", pytrace=False)
    EXECUTED_DIR.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, EXECUTED_DIR / path.name)
