"""Sphinx configuration of the anker documentation (``make docs``).

Why Sphinx (autodoc + numpydoc + myst-nb) and not MkDocs: the docstrings are
numpy style and already run as doctests, numpydoc renders exactly that
format; myst-nb executes the notebooks (and the tutorial, a text notebook)
during the build through jupyter-cache, so figures are made by the code of
this commit and a failing cell fails the build; and ``sphinx-build -W``
turns every warning (a broken cross-reference, a malformed docstring, an
unknown toctree entry) into an error, which the test suite checks.

The notebooks live in ``notebooks/`` (saved without outputs, edited by
others); they are copied into ``docs/notebooks/`` (not committed) at the
start of every build and executed there (``docs/data`` links to ``data/`` so
their ``../data`` paths hold). Copies that ``tests/test_notebooks.py`` already
executed in this checkout (``docs/_build/executed_notebooks/``, same code
cells) are used as they are instead of running the notebooks a second time.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))
# the notebooks' kernels draw with the inline backend, which keeps each figure as an output
os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
os.environ.setdefault("ANKER_QUIET", "1")

import anker  # noqa: E402

project = "anker"
author = "the anker authors"
copyright = "2026, the anker authors"  # noqa: A001 - the name Sphinx reads
release = version = anker.__version__

extensions = ["sphinx.ext.autodoc", "numpydoc", "myst_nb"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "data", "**.ipynb_checkpoints", "README.md"]
html_theme = "furo"
html_title = f"anker {release}"
html_static_path: list[str] = []

# numpy-style docstrings; members are listed by autodoc, not by numpydoc's own tables
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
autodoc_member_order = "bysource"
autodoc_typehints = "none"
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}

myst_enable_extensions = ["colon_fence", "dollarmath"]
myst_heading_anchors = 3
# execute notebooks and text notebooks during the build; a rebuild reuses unchanged ones
nb_execution_mode = os.environ.get("ANKER_DOCS_EXECUTE", "cache")
nb_execution_cache_path = str(HERE / "_build" / ".jupyter_cache")
nb_execution_timeout = 900
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True


EXECUTED = HERE / "_build" / "executed_notebooks"


def _code(nb: dict) -> list[str]:
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


def _copy_notebooks() -> list[str]:
    """notebooks/*.ipynb -> docs/notebooks/; an executed copy of the same code is taken as it is.

    Returns the notebooks that need no execution (their outputs are there already).
    """
    import json

    target = HERE / "notebooks"
    target.mkdir(exist_ok=True)
    sources = sorted((ROOT / "notebooks").glob("*.ipynb"))
    for stale in set(target.glob("*.ipynb")) - {target / s.name for s in sources}:
        stale.unlink()
    executed = []
    for source in sources:
        text = source.read_bytes()
        ran = EXECUTED / source.name
        if ran.exists() and _code(json.loads(ran.read_bytes())) == _code(json.loads(text)):
            text = ran.read_bytes()
            executed.append(f"notebooks/{source.name}")
        copy = target / source.name
        if not copy.exists() or copy.read_bytes() != text:
            copy.write_bytes(text)
    return executed


def _link_data() -> None:
    """The notebooks read ``../data/...``: from docs/notebooks/ that is docs/data (a link)."""
    link = HERE / "data"
    if not link.is_symlink() and not link.exists():
        link.symlink_to(ROOT / "data", target_is_directory=True)


nb_execution_excludepatterns = _copy_notebooks()
_link_data()
