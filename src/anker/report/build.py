"""The ANKER report: one self-contained HTML file with every result that matters.

:func:`write_report` (and :func:`build_report`, which returns the HTML text)
takes results that were already computed: the records, the fitted
:class:`~anker.AnkerModel`, a cohort comparison, the break-even and its
cost-benefit, fairness audits, the outcome per coach and the decision log.
It draws the figures (embedded as PNG data URIs), lays out the tables and
records where the data and the model came from. The file needs no network
and no JavaScript, so it can be mailed, archived and printed as it is.

The sections: key figures, data, the four tests, the advice distribution,
cohort comparison, break-even, fairness audit, outcome per coach, decisions,
and a footer with versions. Sections whose input is not given say so.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import platform
import sys
import warnings
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from anker._version import __version__
from anker.errors import AnkerDataError
from anker.report.html import (
    absent,
    esc,
    eur,
    eur_interval,
    interval,
    key_figures,
    page,
    para,
    table,
)
from anker.report.sections.accountability import TITLE as ACCOUNTABILITY_TITLE
from anker.report.sections.accountability import accountability_section
from anker.report.sections.assessments import advice_section, data_section, four_tests_section
from anker.report.sections.comparison import (
    break_even_section,
    coach_section,
    coach_title,
    comparison_section,
    decisions_section,
    fairness_section,
)

__all__ = ["build_report", "write_report"]

DEFAULT_TITLE = "ANKER report: profiling, cohort comparison and break-even"
_VERSIONED = ("numpy", "pandas", "scipy", "statsmodels", "lifelines", "matplotlib")


def _use_agg() -> None:
    """Draw off-screen unless the caller already chose a backend (e.g. in a notebook)."""
    if "matplotlib.pyplot" not in sys.modules:
        import matplotlib

        matplotlib.use("Agg")


def sha256_of(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _frame_digest(data: pd.DataFrame) -> str:
    return hashlib.sha256(pd.util.hash_pandas_object(data, index=True).to_numpy().tobytes()).hexdigest()


def _validation_text(data: pd.DataFrame) -> str:
    from anker.schema import validate

    try:
        validate(data)
    except AnkerDataError as exc:
        return (f'<span class="warn">Validation against the anker schema found problems: '
                f"{esc(' '.join(str(exc).split()))}</span>")
    return (f'<span class="ok">Validated: all {data.shape[1]} columns of the {len(data):,} '
            "records pass the anker schema (types, ranges, impossible combinations).</span>")


def _source_rows(data: pd.DataFrame, data_path, model_path) -> list[tuple[str, str]]:
    rows = []
    if data_path is not None:
        p = Path(data_path)
        stamp = _dt.datetime.fromtimestamp(p.stat().st_mtime, _dt.timezone.utc)
        rows += [("data file", f"<code>{esc(p.name)}</code>"),
                 ("data file SHA-256", f"<code>{sha256_of(p)}</code>"),
                 ("data file size, modified", f"{p.stat().st_size:,} bytes, "
                                              f"{stamp.isoformat(timespec='seconds')}")]
    else:
        rows.append(("data", "a DataFrame passed in Python (no file); content hash "
                             f"<code>{_frame_digest(data)}</code> (pandas hash_pandas_object, SHA-256)"))
    rows.append(("records, columns", f"{len(data):,} rows, {data.shape[1]} columns"))
    if model_path is not None:
        rows += [("model file", f"<code>{esc(Path(model_path).name)}</code>"),
                 ("model file SHA-256", f"<code>{sha256_of(model_path)}</code>")]
    return rows


def _unit(comparison) -> str:
    unit = getattr(comparison, "time_unit", None)
    return "calendar days" if unit is None else unit.label


def _key_section(comparison, be, cb, truth) -> str:
    items = []
    if comparison is not None:
        ci = getattr(comparison, "ci", (float("nan"), float("nan")))
        who = (f"{esc(getattr(comparison, 'other', 'other'))} minus "
               f"{esc(getattr(comparison, 'reference', 'reference'))}")
        items.append((f"Coaching effect, {_unit(comparison)}",
                      f"{comparison.rmst_difference:+.2f}",
                      f"RMST difference up to {float(comparison.horizon):g} {_unit(comparison)}, "
                      f"{who}, "
                      f"{esc(getattr(comparison, 'method', ''))}; {level_of(comparison)} CI "
                      f"{interval(*ci)}"))
    if cb is not None:
        items.append(("Benefit days saved per client", f"{cb.days_saved:.2f}",
                      f"{cb.level:.0%} CI {interval(*cb.ci)} (x 261/365); "
                      f"{esc(getattr(cb, 'scale', 'time_on_benefit').replace('_', ' '))}; "
                      f"resampling {esc(getattr(cb, 'resampling', 'spells'))}"))
    items.append(("Break-even, benefit days", f"{be.days:.2f}",
                  f"IWI 2005: {eur(be.extra_cost)} / ({be.clients:,.0f} clients x "
                  f"EUR {be.daily_benefit:.2f} a benefit day)"))
    if cb is not None:
        items.append(("P(days saved > break-even)", f"{cb.p_exceeds_break_even:.2f}",
                      f"share of {cb.n_boot:,} bootstrap replicates" if cb.n_boot
                      else esc(cb.ci_method)))
        items.append(("Net benefit a year", eur(cb.net_benefit),
                      f"{cb.level:.0%} CI {eur_interval(*cb.net_benefit_ci)}; "
                      f"{cb.guided_clients:,.0f} guided clients"))
    estimates = getattr(comparison, "estimates", None)
    if isinstance(estimates, pd.DataFrame) and "naive" in estimates.index:
        items.append((f"Naive difference, {_unit(comparison)}",
                      f"{estimates.loc['naive', 'estimate']:+.2f}",
                      "unadjusted: mixes coaching with the business cycle and the client mix"))
    if truth is not None and getattr(truth, "coaching_effect_days", None) is not None:
        items.append(("True effect (synthetic data)", f"{-float(truth.coaching_effect_days):+.2f}",
                      f"calendar days; {float(truth.coaching_effect_benefit_days):.2f} benefit "
                      "days saved"))
        if getattr(comparison, "outcome", None) == "paid_days" and hasattr(truth, "effect"):
            paid = truth.effect(getattr(comparison, "estimand", "att"), "paid_days")
            items.append(("True effect on paid days (synthetic)", f"{paid:+.2f}",
                          f"calendar days; {-paid * 261 / 365:.2f} benefit days saved: the "
                          "estimand the comparison and the break-even use"))
    body = ['<section id="summary" class="keybox"><h2>Key figures</h2>', key_figures(items)]
    if cb is not None:
        body.append(para(esc(headline(cb)) + " Effects after the horizon are not counted.",
                         cls="verdict"))
    elif comparison is None:
        body.append(absent("No cohort comparison was given: only the break-even is shown."))
    body.append("</section>")
    return "\n".join(body)


def level_of(obj) -> str:
    level = getattr(obj, "level", None)
    return f"{float(level):.0%}" if level is not None else "95%"


def headline(cb) -> str:
    """The verdict, in words that follow the interval quoted (its level and resampling unit).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> cb = SimpleNamespace(ci=(2.1, 11.6), break_even_days=3.7, level=0.9, resampling="spells")
    >>> headline(cb)[:60]
    'The 90% CI of the days saved (2.10 to 11.60 benefit days, re'
    """
    low, high = cb.ci
    unit = getattr(cb, "resampling", "spells")
    quoted = (f"The {cb.level:.0%} CI of the days saved ({low:.2f} to {high:.2f} benefit days, "
              f"resampling {unit})")
    if low > cb.break_even_days:
        return (f"{quoted} lies above the break-even of {cb.break_even_days:.2f}: on these data "
                "coaching earns back its extra cost.")
    if high < cb.break_even_days:
        return (f"{quoted} lies below the break-even of {cb.break_even_days:.2f}: on these data "
                "coaching does not earn back its extra cost.")
    return (f"{quoted} contains the break-even of {cb.break_even_days:.2f}: these data cannot "
            "settle whether coaching earns back its extra cost.")


def _versions() -> list[tuple[str, str]]:
    rows = [("anker", __version__), ("python", platform.python_version())]
    for name in _VERSIONED:
        try:
            rows.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            rows.append((name, "not installed"))
    return rows


def _footer(*, seed, command, comparison, cb, generated: str) -> str:
    from anker.profile import SCHEMA_VERSION

    run = [("generated (UTC)", generated),
           ("command", f"<code>{esc(command)}</code>" if command else "called from Python"),
           ("seed", esc(seed) if seed is not None else "–"),
           ("model file schema version", str(SCHEMA_VERSION))]
    if comparison is not None:
        run.append(("comparison", f"method {esc(getattr(comparison, 'method', '?'))}, horizon "
                                  f"{float(comparison.horizon):g} {_unit(comparison)}"))
    if cb is not None:
        run.append(("intervals", f"{esc(cb.ci_method)}, {cb.n_boot:,} replicates"))
    versions = ", ".join(f"{esc(k)} {esc(v)}" for k, v in _versions())
    run.append(("software", versions + f"; {esc(platform.platform(terse=True))}"))
    frame = pd.DataFrame(run, columns=["item", "value"]).set_index("item")
    return table(frame, index_label="", formats={"value": str}, header=False,
                 caption="Data and model versions")


def build_report(*, data: pd.DataFrame, model, comparison=None, break_even=None,
                 cost_benefit=None, profiles: pd.DataFrame | None = None,
                 fairness: Sequence[pd.DataFrame] | None = None, coach_outcome=None,
                 decisions=None, truth=None, data_path: str | os.PathLike | None = None,
                 model_path: str | os.PathLike | None = None, seed: Any = None,
                 command: str | None = None, cohort_col: str | None = "cohort",
                 title: str = DEFAULT_TITLE, monitoring=None, intersectional=None,
                 override_outcomes=None, accuracy_equity=None) -> str:
    """The report as one self-contained HTML document (text).

    Parameters
    ----------
    data : DataFrame, keyword-only
        The records the report is about (validated, described, and used for
        the tests' discrimination and calibration checks).
    model : AnkerModel, keyword-only
        The fitted four tests.
    comparison : CohortComparison, optional, keyword-only
        A :func:`anker.compare_cohorts` result.
    break_even : BreakEven, optional, keyword-only
        Default :meth:`anker.BreakEven.iwi_2005` (3.7 benefit days).
    cost_benefit : CostBenefit, optional, keyword-only
        Default ``anker.cost_benefit(comparison, break_even)`` when a
        comparison is given.
    profiles : DataFrame, optional, keyword-only
        ``model.profile(data)``; computed when not given.
    fairness : sequence of DataFrame, optional, keyword-only
        :func:`anker.audit_fairness` results (each describes itself in ``attrs``).
    coach_outcome : CoachOutcome, optional, keyword-only
        An :func:`anker.outcome_by_coach` result.
    decisions : DecisionLog, optional, keyword-only
        Its override rates are reported.
    truth : SyntheticTruth, optional, keyword-only
        For synthetic data: true effect and coefficients are shown next to
        the estimates.
    data_path, model_path : path, optional, keyword-only
        Files the data and model came from: name and SHA-256 are recorded.
    seed, command : optional, keyword-only
        Recorded in the footer.
    cohort_col : str or None, keyword-only
        Column with the cohort; tables are split by it when present.
    title : str, keyword-only
    monitoring, intersectional, override_outcomes, accuracy_equity : optional, keyword-only
        An :func:`anker.monitor` result, intersectional :func:`anker.audit_fairness`
        results, an :func:`anker.override_outcomes` table and
        :func:`anker.fairness.accuracy_equity` tables (drawn as FPR and FNR
        ratios across thresholds), for the accountability section (shown when
        any is given).

    Returns
    -------
    str
        The HTML document.

    Examples
    --------
    >>> import anker
    >>> from anker.report import build_report
    >>> df = anker.simulate_population(n_per_cohort=1_500, seed=4).data
    >>> model = anker.AnkerModel().fit(df)
    >>> html = build_report(data=df, model=model)
    >>> html.startswith("<!DOCTYPE html>"), "3.70" in html
    (True, True)
    """
    from anker.costbenefit import BreakEven
    from anker.costbenefit import cost_benefit as _cost_benefit
    from anker.profile import AnkerModel

    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if data.empty:
        raise AnkerDataError("data holds no records: nothing to report on")
    if not isinstance(model, AnkerModel):
        raise TypeError(f"model must be a fitted AnkerModel, got {type(model).__name__}")
    if not model.is_fitted:
        raise ValueError("model is not fitted: call model.fit(df) or AnkerModel.load(path) first")
    if break_even is None:
        break_even = BreakEven.iwi_2005()
    elif not isinstance(break_even, BreakEven):
        raise TypeError(f"break_even must be a BreakEven, got {type(break_even).__name__}")
    if cost_benefit is None and comparison is not None:
        cost_benefit = _cost_benefit(comparison, break_even)
    if isinstance(fairness, pd.DataFrame):
        fairness = [fairness]
    for path, name in ((data_path, "data_path"), (model_path, "model_path")):
        if path is not None and not Path(path).is_file():
            raise FileNotFoundError(f"{name}: file {str(path)!r} does not exist")
    _use_agg()

    notes = []
    if profiles is None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            profiles = model.profile(data)
        notes = [str(w.message) for w in caught]
    elif not profiles.index.equals(data.index):
        raise ValueError("profiles must be on the index of data (model.profile(data))")

    generated = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    sections = [
        ("summary", "Key figures", _key_section(comparison, break_even, cost_benefit, truth)),
        ("data", "1. Data", data_section(data, cohort_col=cohort_col,
                                          validation=_validation_text(data),
                                          source_rows=_source_rows(data, data_path, model_path))),
        ("tests", "2. The four tests", four_tests_section(model, data, truth=truth)),
        ("advice", "3. Advice distribution", advice_section(profiles, data, cohort_col=cohort_col)
         + "".join(para("While profiling: " + esc(n), cls="note") for n in notes)),
    ]
    from anker.report.html import section

    sections.append(("comparison", "4. Cohort comparison",
                     comparison_section(comparison, truth=truth) if comparison is not None else
                     section("comparison", "4. Cohort comparison",
                             absent("No cohort comparison was given (anker.compare_cohorts)."))))
    sections.append(("break-even", "5. Break-even", break_even_section(break_even, cost_benefit)))
    sections.append(("fairness", "6. Fairness audit", fairness_section(fairness)))
    if coach_outcome is not None:
        sections.append(("coaches", coach_title(coach_outcome),
                         coach_section(coach_outcome, truth=truth)))
    if decisions is not None:
        sections.append(("decisions", "8. Decisions and overrides", decisions_section(decisions)))

    if any(x is not None for x in (monitoring, intersectional, override_outcomes,
                                   accuracy_equity)):
        sections.append(("accountability", ACCOUNTABILITY_TITLE, accountability_section(
            monitoring=monitoring, intersectional=intersectional,
            override_outcomes=override_outcomes, accuracy_equity=accuracy_equity)))

    subtitle = (f"Generated {esc(generated)} with anker {esc(__version__)} on {len(data):,} "
                f"records{' from <code>' + esc(Path(data_path).name) + '</code>' if data_path else ''}. "
                "The statistical advice supports the coach, who decides.")
    footer = _footer(seed=seed, command=command, comparison=comparison, cb=cost_benefit,
                     generated=generated)
    return page(title, subtitle, [(a, t) for a, t, _ in sections],
                "\n".join(html for _, _, html in sections), footer)


def write_report(path: str | os.PathLike, **kwargs: Any) -> Path:
    """Write :func:`build_report`'s HTML to ``path`` (UTF-8); returns the path.

    All keyword arguments are those of :func:`build_report`.

    Examples
    --------
    >>> import anker, tempfile, os
    >>> from anker.report import write_report
    >>> df = anker.simulate_population(n_per_cohort=1_500, seed=4).data
    >>> out = write_report(os.path.join(tempfile.mkdtemp(), "report.html"), data=df,
    ...                    model=anker.AnkerModel().fit(df))
    >>> out.stat().st_size > 10_000
    True
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"report path {str(path)!r} is a folder; give a file name")
    if not path.parent.exists():
        raise FileNotFoundError(f"folder {str(path.parent)!r} for the report does not exist")
    text = build_report(**kwargs)
    path.write_text(text, encoding="utf-8")
    return path
