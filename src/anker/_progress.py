"""A tiny progress line for long loops, shown only to a person at a terminal.

The line goes to stderr and is drawn only when stderr is a TTY and the code
does not run under pytest or a CI service; everywhere else the reporter is
silent, so logs, notebooks and test output stay clean.

Examples
--------
>>> from anker._progress import progress
>>> with progress(3, desc="bootstrap") as bar:
...     for _ in range(3):
...         bar.update(1)
>>> bar.done
3
"""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO

# environment variables set by pytest and by the common CI services
_QUIET_ENV = ("PYTEST_CURRENT_TEST", "CI", "GITHUB_ACTIONS", "GITLAB_CI", "BUILD_NUMBER", "TF_BUILD")
# redraw at most this often (seconds), so a tight loop does not spend its time printing
_MIN_INTERVAL = 0.1


def _under_pytest() -> bool:
    # PYTEST_CURRENT_TEST is only set while a test runs, not during collection
    return "pytest" in sys.modules


def interactive(stream: TextIO | None = None) -> bool:
    """True when a progress line would reach a person: a TTY, not pytest, not CI.

    Examples
    --------
    >>> import io
    >>> interactive(io.StringIO())
    False
    """
    stream = sys.stderr if stream is None else stream
    if any(os.environ.get(name) for name in _QUIET_ENV) or _under_pytest():
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


class Progress:
    """Counts work done out of ``total``; draws ``desc: done/total (pct %)`` when interactive.

    Use it as a context manager (see `progress`); the line is finished with a
    newline on exit. ``enabled=None`` decides with `interactive`.
    """

    def __init__(
        self, total: int, *, desc: str = "", stream: TextIO | None = None, enabled: bool | None = None
    ) -> None:
        self.total = max(int(total), 0)
        self.desc = desc
        self.done = 0
        self._stream = sys.stderr if stream is None else stream
        self.enabled = interactive(self._stream) if enabled is None else bool(enabled)
        self._last_draw = -float("inf")
        self._drawn = False

    def update(self, n: int = 1) -> None:
        """Add ``n`` units of finished work and redraw if enough time has passed."""
        self.done += int(n)
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last_draw >= _MIN_INTERVAL or self.done >= self.total:
            self._last_draw = now
            self._draw()

    def _draw(self) -> None:
        percent = 100.0 * self.done / self.total if self.total else 100.0
        label = f"{self.desc}: " if self.desc else ""
        self._stream.write(f"\r{label}{self.done}/{self.total} ({percent:3.0f} %)")
        self._stream.flush()
        self._drawn = True

    def close(self) -> None:
        """End the progress line (a newline), if one was drawn."""
        if self.enabled and self._drawn:
            self._draw()
            self._stream.write("\n")
            self._stream.flush()
            self._drawn = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def progress(
    total: int, *, desc: str = "", stream: TextIO | None = None, enabled: bool | None = None
) -> Progress:
    """A `Progress` for ``total`` units of work; quiet unless a person is watching.

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> with progress(2, desc="refit", stream=out, enabled=True) as bar:
    ...     bar.update(2)
    >>> out.getvalue().splitlines()[-1].strip()
    'refit: 2/2 (100 %)'
    """
    return Progress(total, desc=desc, stream=stream, enabled=enabled)
