"""anker.report: one self-contained HTML file with the key numbers, surviving absent sections."""

from __future__ import annotations

import base64
import hashlib
import re
import warnings
from html.parser import HTMLParser
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import anker
from anker.report import build_report, write_report
from anker.report.html import eur, eur_interval, interval, num, pvalue, ratio, table
from anker.report.job import run_job


class _Page(HTMLParser):
    """Every tag with its attributes, the figures and their captions."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.ids: set[str] = set()
        self.captions: list[str] = []
        self._in_caption = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "figcaption":
            self._in_caption = True
            self.captions.append("")

    def handle_endtag(self, tag):
        if tag == "figcaption":
            self._in_caption = False

    def handle_data(self, data):
        if self._in_caption:
            self.captions[-1] += data


def parse(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    return page


@pytest.fixture(scope="module")
def job():
    pop = anker.simulate_population(n_per_cohort=1_500, seed=21)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = run_job(pop.data, n_boot=60, seed=1, protected=("sex",))
    return results, pop.truth


@pytest.fixture(scope="module")
def full_html(job):
    results, truth = job
    return build_report(**results.report_arguments(), truth=truth, seed=1, command="anker test")


def test_report_is_self_contained(full_html):
    page = parse(full_html)
    assert full_html.startswith("<!DOCTYPE html>")
    tags = {tag for tag, _ in page.tags}
    assert "script" not in tags and "link" not in tags and "iframe" not in tags
    images = [attrs for tag, attrs in page.tags if tag == "img"]
    assert len(images) >= 8  # calibration, forest, scores, KM, tornado, curve, fairness, funnel
    for attrs in images:
        assert attrs["src"].startswith("data:image/png;base64,")
        png = base64.b64decode(attrs["src"].split(",", 1)[1])
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert attrs.get("alt")
    for tag, attrs in page.tags:
        for name in ("src", "href"):
            value = attrs.get(name)
            if value is not None:
                assert value.startswith(("data:", "#")), (tag, name, value[:60])
    assert not re.search(r"url\(\s*['\"]?https?:", full_html)
    assert "@import" not in full_html


def test_every_link_has_a_target(full_html):
    page = parse(full_html)
    for tag, attrs in page.tags:
        if tag == "a":
            assert attrs["href"][1:] in page.ids


def test_every_figure_has_a_caption_with_a_unit(full_html):
    page = parse(full_html)
    assert len(page.captions) == sum(1 for tag, _ in page.tags if tag == "figure")
    units = ("days", "probabilit", "unitless", "EUR", "0-1", "log odds", "(x)")
    for caption in page.captions:
        assert len(caption) > 40, caption
        assert any(u in caption for u in units), caption


def test_sections_present(full_html):
    ids = parse(full_html).ids
    assert {"summary", "data", "tests", "advice", "comparison", "break-even", "fairness",
            "coaches"} <= ids
    assert "decisions" not in ids  # no log given


def test_accuracy_equity_figure_is_in_the_accountability_section(job, full_html):
    """FPR and FNR ratios across thresholds: drawn and summarised in section 9."""
    results, _ = job
    assert results.accuracy_equity, results.warnings
    start = full_html.index('id="accountability"')
    section = full_html[start:]
    assert "Accuracy equity across thresholds" in section
    captions = [c for c in parse(section).captions if c.startswith("Accuracy equity of")]
    assert len(captions) == 1 and "per sex" in captions[0]
    assert '<img src="data:image/png;base64,' in section[section.index("Accuracy equity across"):]
    # the summary table holds each group's ratio range over the thresholds
    table_ = results.accuracy_equity[0]
    female = table_[table_["sex"] == "female"]
    assert num(female["fpr_ratio"].max(), 2) in section
    assert "thresholds_outside" in section


def test_accountability_section_without_an_equity_table_says_so():
    from anker.report.sections.accountability import accountability_section

    assert "No accuracy-equity table was given" in accountability_section()


def test_key_numbers(job, full_html):
    results, truth = job
    cmp, cb, be = results.comparison, results.cost_benefit, results.break_even
    # the break-even of the IWI report and its inputs
    assert "3.70" in full_html and "76,500" in full_html and "706" in full_html
    assert f"{cmp.rmst_difference:+.2f}" in full_html
    assert interval(*cmp.ci) in full_html
    assert f"{cb.days_saved:.2f}" in full_html and interval(*cb.ci) in full_html
    assert f"{cb.p_exceeds_break_even:.2f}" in full_html
    assert eur(cb.net_benefit) in full_html
    # every estimator with its estimate; benefit days are calendar days x 261/365
    for method, row in cmp.estimates.iterrows():
        assert f"{row['estimate']:,.2f}" in full_html, method
        assert f"{-row['estimate'] * 261 / 365:,.2f}" in full_html, method
    assert f"{-truth.coaching_effect_days:,.2f}" in full_html
    assert f"{be.days:.2f} benefit days" in full_html


def test_headline_words_follow_the_interval_level_and_unit():
    from types import SimpleNamespace

    from anker.report.build import headline

    def cb(low, high, level=0.9, unit="whole clusters of 'coach_id'"):
        return SimpleNamespace(ci=(low, high), break_even_days=3.7, level=level, resampling=unit)

    assert "lies above" in headline(cb(4.0, 9.0)) and "90% CI" in headline(cb(4.0, 9.0))
    assert "lies below" in headline(cb(-1.0, 3.0))
    text = headline(cb(2.13, 11.56))
    assert "cannot settle" in text and "coach_id" in text and "earns back" in text
    assert "spells" in headline(cb(4.0, 9.0, unit="spells"))


def test_verdict_follows_the_interval(job, full_html):
    results, _ = job
    cb = results.cost_benefit
    if cb.ci[0] > cb.break_even_days:
        assert "lies above the break-even" in full_html
    elif cb.ci[1] < cb.break_even_days:
        assert "lies below the break-even" in full_html
    else:
        assert "contains the break-even" in full_html


def test_counts_per_cohort(job, full_html):
    results, _ = job
    profiles, data = results.profiles, results.data
    for cohort in data["cohort"].unique():
        n_b = int((profiles["route"][data["cohort"] == cohort] == "B").sum())
        share = n_b / int((data["cohort"] == cohort).sum())
        assert f"{n_b:,} ({100 * share:.1f} %)" in full_html


def test_optional_sections_absent(job):
    results, _ = job
    html = build_report(data=results.data, model=results.model)
    ids = parse(html).ids
    assert "No cohort comparison was given" in html
    assert "No fairness audit was given" in html
    assert "coaches" not in ids and "decisions" not in ids
    assert "3.70" in html  # the break-even is still shown


def test_minimal_comparison_object(job):
    """Any object with the documented core attributes will do (duck typing)."""
    results, _ = job
    cmp = SimpleNamespace(rmst_difference=-6.0, ci=(-9.0, -3.0), horizon=365, method="aipw",
                          boot_differences=np.array([-9.5, -7.0, -6.0, -5.0, -2.5]))
    html = build_report(data=results.data, model=results.model, comparison=cmp,
                        profiles=results.profiles)
    assert "-6.00" in html
    cb = anker.cost_benefit(cmp, anker.BreakEven.iwi_2005())
    assert f"{cb.days_saved:.2f}" in html  # 6 x 261/365 = 4.29
    assert f"{6 * 261 / 365:.2f}" in html


@pytest.fixture(scope="module")
def edge_case(job, tmp_path_factory):
    """One report on awkward input: a planted flag, a decision log, a data file, a value out
    of range and a cohort label with HTML in it (one build: figures take seconds)."""
    results, _ = job
    folder = tmp_path_factory.mktemp("edge")
    audit = results.fairness[0].copy()
    audit.attrs = dict(results.fairness[0].attrs)
    audit.loc[audit.index[-1], "fpr_ratio"] = 1.5
    log = anker.DecisionLog(folder / "decisions.sqlite")
    log.record(client_id=1, advice="route B", decision="route B", coach_id="c1", office="o1")
    log.record(client_id=2, advice="route B", decision="route A", reason="found work himself",
               coach_id="c1", office="o1")
    path = folder / "records.csv"
    results.data.head(50).to_csv(path, index=False)
    data = results.data.copy()
    data.loc[data.index[0], "age"] = 7  # below the schema's range
    data["cohort"] = data["cohort"].replace({"coaching_2007": "<script>x</script>"})
    html = build_report(data=data, model=results.model, profiles=results.profiles,
                        fairness=[audit], decisions=log, data_path=path)
    log.close()
    return html, path


def test_flagged_ratio_is_highlighted(edge_case):
    html, _ = edge_case
    assert '<td class="num flag">1.50</td>' in html


def test_decision_log_section(edge_case):
    html, _ = edge_case
    assert "decisions" in parse(html).ids
    assert "50.0 %" in html  # one override in two decisions


def test_data_file_hash(edge_case):
    html, path = edge_case
    assert hashlib.sha256(path.read_bytes()).hexdigest() in html
    assert "records.csv" in html


def test_validation_problems_are_reported(edge_case):
    html, _ = edge_case
    assert "found problems" in html and "age" in html


def test_html_in_labels_is_escaped(edge_case):
    html, _ = edge_case
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_write_report(job, tmp_path):
    results, _ = job
    out = write_report(tmp_path / "r.html", data=results.data, model=results.model,
                       profiles=results.profiles)
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


@pytest.mark.parametrize("make_path, error", [
    (lambda tmp: tmp / "missing" / "r.html", FileNotFoundError),
    (lambda tmp: tmp, IsADirectoryError),
])
def test_write_report_bad_path(job, tmp_path, make_path, error):
    results, _ = job
    with pytest.raises(error):
        write_report(make_path(tmp_path), data=results.data, model=results.model)


def test_bad_arguments(job):
    results, _ = job
    with pytest.raises(TypeError, match="data"):
        build_report(data=results.data.to_dict(), model=results.model)
    with pytest.raises(ValueError, match="not fitted"):
        build_report(data=results.data, model=anker.AnkerModel())
    with pytest.raises(TypeError, match="break_even"):
        build_report(data=results.data, model=results.model, break_even=3.7)
    with pytest.raises(ValueError, match="profiles"):
        build_report(data=results.data, model=results.model, profiles=results.profiles.iloc[1:])
    with pytest.raises(anker.AnkerDataError, match="no records"):
        build_report(data=results.data.iloc[:0], model=results.model)


# ---- the HTML helpers ----------------------------------------------------------------------
def test_number_formats():
    assert num(-0.0001, 3) == "0.000" and num(-0.0001, 3, sign=True) == "+0.000"
    assert num(1234.5, 1) == "1,234.5" and num(np.nan) == "–" and num(3, 0) == "3"
    assert pvalue(0.0004) == "< 0.001" and pvalue(0.0312) == "0.031"
    assert ratio(2.345) == "2.35" and ratio(1.0021, ci=(1.0017, 1.0025)) == "1.0021"
    assert ratio(8.4e-5) == "8.40e-05" and ratio(1.01, ci=(0.67, 1.52)) == "1.01"
    assert eur(7.46e6) == "EUR 7.5 million" and eur(196.08) == "EUR 196"
    assert interval(-12.9, -3.05) == "-12.90 to -3.05"
    # one unit for both bounds, so "EUR 398,578 to EUR 25.5 million" cannot happen
    assert eur_interval(398_578, 25.5e6) == "EUR 0.4 to 25.5 million"
    assert eur_interval(-250, 900) == "EUR -250 to 900"


def test_table_formats_and_flags():
    frame = pd.DataFrame({"n": [10, 2000], "ratio": [1.0, 1.4], "label": ["a<b", "c"]},
                         index=pd.Index(["x", "y"], name="group"))
    flags = pd.DataFrame({"ratio": [False, True]}, index=frame.index)
    html = table(frame, formats={"n": lambda v: num(v, 0)}, flags=flags, caption="cap")
    assert "<caption>cap</caption>" in html and "2,000" in html
    assert '<td class="num flag">1.40</td>' in html and '<td class="num">1.00</td>' in html
    assert "a&lt;b" in html
