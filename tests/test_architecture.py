"""The layout of docs/architecture.md, checked rather than remembered."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "anker"
ROOT = PACKAGE.parents[1]


def test_import_linter_contracts_are_kept():
    # the console script sits next to the interpreter in the venv
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--config", str(ROOT / "pyproject.toml")], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_few_modules_at_the_top_and_a_package_per_stage():
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= 9, top
    for package in ("models", "survival", "outcome", "decisions", "report", "assessments",
                    "diagnostics", "fairness", "plots", "cli", "costbenefit", "synthetic"):
        assert (PACKAGE / package / "__init__.py").is_file(), package
    # no prefix families left at the top: one idea per package instead
    stems = [name[:-3] for name in top]
    prefixes = {stem.split("_")[0] for stem in stems if "_" in stem.strip("_")}
    assert not prefixes & {"outcome", "report", "decision", "coach"}, stems


def _module_cycles() -> list[list[str]]:
    graph = grimp.build_graph("anker", exclude_type_checking_imports=True)
    edges = {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in edges[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(edges):
        if module not in index:
            visit(module)
    return cycles


def test_no_import_cycle_between_any_two_modules():
    # lazy imports inside functions count too: a cycle hidden in a function is still a cycle
    assert _module_cycles() == []


def _calls(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            func = node.func
            names.add(func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", ""))
    return names


@pytest.mark.parametrize("path", sorted(p for p in PACKAGE.rglob("*.py")
                                        if "survival" not in p.relative_to(PACKAGE).parts),
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_kaplan_meier_is_computed_only_in_anker_survival(path):
    # a product-limit estimate needs a running product of (1 - d / Y): cumprod, or a sum of log1p(-d / Y)
    source = path.read_text()
    assert "cumprod" not in _calls(path), f"{path.name} computes a running product"
    assert "log1p(-d" not in source.replace(" ", "")


def test_modules_stay_near_the_size_guide():
    sizes = {str(p.relative_to(PACKAGE)): len(p.read_text().splitlines()) for p in PACKAGE.rglob("*.py")}
    assert {name: n for name, n in sizes.items() if n > 420} == {}
