# Every target creates and fills the virtual environment itself.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench study lint docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/anker demo --out out

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) benchmarks/run_all.py --out BENCHMARKS.md

# bias and coverage of the cohort comparison on the generator (benchmarks/results/generator_study.csv)
study: $(STAMP)
	$(PY) benchmarks/study_generator.py

# the docs site in docs/_build/html, warnings as errors (tests/test_docs.py does the same)
docs: $(STAMP)
	$(VENV)/bin/sphinx-build -W --keep-going -b html docs docs/_build/html

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) out .pytest_cache docs/_build docs/notebooks docs/data
