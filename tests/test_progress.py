"""Tests for anker._progress: a progress line only for a person at a terminal."""

from __future__ import annotations

import io

import numpy as np

from anker import _progress
from anker._progress import interactive, progress
from anker.survival import bootstrap_refit


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_quiet_under_pytest_even_on_a_terminal(capsys):
    assert not interactive(FakeTerminal())
    bootstrap_refit(np.mean, np.arange(5.0), n_boot=3, seed=0)
    assert capsys.readouterr().err == ""


def test_quiet_without_a_terminal_and_in_ci(monkeypatch):
    # pretend pytest is not running, so only the stream and CI decide
    monkeypatch.delenv("PYTEST_CURRENT_TEST", raising=False)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(_progress, "_under_pytest", lambda: False)
    assert interactive(FakeTerminal())
    assert not interactive(io.StringIO())
    monkeypatch.setenv("CI", "true")
    assert not interactive(FakeTerminal())


def test_draws_and_ends_the_line_when_enabled():
    out = io.StringIO()
    with progress(4, desc="bootstrap", stream=out, enabled=True) as bar:
        for _ in range(4):
            bar.update(1)
    text = out.getvalue()
    assert text.endswith("bootstrap: 4/4 (100 %)\n")
    assert text.startswith("\r")


def test_silent_when_disabled():
    out = FakeTerminal()
    with progress(4, stream=out, enabled=False) as bar:
        bar.update(4)
    assert bar.done == 4
    assert out.getvalue() == ""
