"""Building blocks of the HTML report: the page and its CSS, tables, figures as data URIs.

Everything here returns HTML text. The page needs no network, no fonts
from elsewhere and no JavaScript: figures are PNG images embedded as
``data:`` URIs and the CSS is inline, so the file can be mailed, archived
and printed as it is.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# a fairness ratio outside this band is flagged (four-fifths rule and its inverse)
FAIR_BAND = (0.8, 1.25)
FIGURE_DPI = 110

CSS = """
:root { --ink:#1f2328; --muted:#59636e; --line:#d0d7de; --band:#f6f8fa; --accent:#1f4e79;
        --flag:#fde2e1; --flagink:#8b1a1a; --ok:#e6f4ea; }
* { box-sizing: border-box; }
body { font-family: -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--ink); margin: 0; line-height: 1.45; font-size: 15px; background: #fff; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 32px 48px; }
h1 { font-size: 1.75em; margin: 0.2em 0 0.1em; color: var(--accent); }
h2 { font-size: 1.3em; margin: 2.2em 0 0.5em; padding-bottom: 4px;
     border-bottom: 2px solid var(--accent); color: var(--accent); }
h3 { font-size: 1.05em; margin: 1.6em 0 0.4em; }
p { margin: 0.4em 0 0.8em; max-width: 62em; }
.subtitle { color: var(--muted); margin: 0 0 1em; }
.note { color: var(--muted); font-size: 0.9em; }
nav { font-size: 0.92em; margin: 1em 0 0; padding: 8px 12px; background: var(--band);
      border: 1px solid var(--line); border-radius: 6px; }
nav ul { margin: 0; padding-left: 0.4em; columns: 3; list-style: none; }
a { color: var(--accent); }
.keybox { border: 2px solid var(--accent); border-radius: 8px; padding: 14px 18px;
          margin: 1.2em 0; background: #f3f7fb; }
.keybox h2 { margin-top: 0; border: none; padding: 0; }
.keys { display: grid; grid-template-columns: repeat(auto-fit, minmax(230px, 1fr)); gap: 10px; }
.key { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; }
.key .label { color: var(--muted); font-size: 0.82em; text-transform: uppercase;
              letter-spacing: 0.03em; }
.key .value { font-size: 1.45em; font-weight: 600; font-variant-numeric: tabular-nums; }
.key .detail { font-size: 0.85em; color: var(--muted); }
.verdict { margin: 12px 0 0; font-weight: 600; }
table { border-collapse: collapse; margin: 0.4em 0 1.2em; font-size: 0.88em;
        font-variant-numeric: tabular-nums; }
caption { caption-side: top; text-align: left; font-weight: 600; padding: 0 0 4px;
          font-size: 1.02em; }
th, td { border-bottom: 1px solid var(--line); padding: 3px 9px; vertical-align: top; }
thead th { border-bottom: 2px solid var(--ink); text-align: left; background: var(--band); }
tbody tr:nth-child(even) { background: #fafbfc; }
td.num { text-align: right; white-space: nowrap; }
th.num { text-align: right; }
th.rowhead { text-align: left; font-weight: 500; }
tr.group th { background: var(--band); text-align: left; font-weight: 600; }
td.flag { background: var(--flag); color: var(--flagink); font-weight: 600; }
td.good { background: var(--ok); }
tr.truth td, tr.truth th { font-style: italic; color: var(--muted); }
tr.chosen td, tr.chosen th { font-weight: 700; background: #eef4fb; }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr));
         gap: 4px 28px; align-items: start; }
.scroll { overflow-x: auto; }
figure { margin: 0.6em 0 1.6em; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; }
figcaption { font-size: 0.88em; color: var(--muted); margin-top: 4px; max-width: 62em; }
figcaption b { color: var(--ink); }
.absent { color: var(--muted); font-style: italic; }
.warn { background: #fff8c5; border: 1px solid #d4a72c; border-radius: 6px; padding: 6px 10px; }
.ok { background: var(--ok); border: 1px solid #8fc79a; border-radius: 6px; padding: 6px 10px; }
footer { margin-top: 3em; padding-top: 10px; border-top: 1px solid var(--line);
         font-size: 0.85em; color: var(--muted); }
footer table { font-size: 1em; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.92em;
       background: var(--band); padding: 0 3px; border-radius: 3px; word-break: break-all; }
@page { size: A4; margin: 12mm; }
@media print {
  body { font-size: 10pt; }
  main { max-width: none; padding: 0; }
  /* a page cannot scroll: wide tables shrink instead of being cut off */
  .scroll { overflow: visible; }
  table { font-size: 7.5pt; }
  th, td { padding: 2px 4px; }
  .grid2 { display: block; }
  nav { display: none; }
  h2, h3, caption { break-after: avoid; }
  figure, table, .keybox { break-inside: avoid; }
  tbody tr:nth-child(even) { background: none; }
}
"""


# ---- text and numbers ---------------------------------------------------------------------
def esc(value: Any) -> str:
    """Escape any value for HTML text or an attribute."""
    return html.escape(str(value), quote=True)


def is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return bool(isinstance(value, (float, np.floating)) and math.isnan(value))
    except TypeError:
        return False


def num(value: Any, digits: int = 2, *, sign: bool = False) -> str:
    """A number with thousands separators and ``digits`` decimals; "–" when missing."""
    if is_missing(value):
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)) and digits == 0:
        return f"{int(value):+,}" if sign else f"{int(value):,}"
    value = round(float(value), digits) + 0.0  # + 0.0 turns -0.0 into 0.0: no "-0.000"
    return f"{value:+,.{digits}f}" if sign else f"{value:,.{digits}f}"


def ratio(value: Any, *, ci: tuple[Any, Any] | None = None) -> str:
    """An odds or hazard ratio: two decimals, more where that would hide the effect.

    A ratio per unit of a finely measured feature (per euro of daily wage) sits
    next to 1; a ratio per unit of a share (an unemployment rate of 0-1) can be
    tiny. Both get digits enough to show them. Pass the estimate's ``ci`` to
    format the estimate and its bounds alike (see :func:`ratio_interval`).
    """
    if is_missing(value):
        return "–"
    value = float(value)
    values = [value] + ([float(b) for b in ci if not is_missing(b)] if ci else [])
    if any(v != 0 and (v < 0.01 or v >= 1000) for v in values):
        return f"{value:.2e}"
    if all(abs(v - 1) < 0.02 for v in values):
        return f"{value:.4f}"
    return f"{value:.2f}"


def ratio_interval(low: Any, high: Any) -> str:
    """The CI of a ratio, formatted as :func:`ratio` formats its estimate with ``ci``.

    The estimate lies between the bounds, so the bounds alone fix the format.
    """
    return interval(low, high, fmt=lambda x: ratio(x, ci=(low, high)))


def pvalue(p: Any) -> str:
    """A p-value as a reader expects it: three decimals, or "< 0.001"."""
    if is_missing(p):
        return "–"
    return "< 0.001" if float(p) < 0.001 else f"{float(p):.3f}"


def pct(share: Any, digits: int = 1) -> str:
    """A share (0-1) as a percentage."""
    return "–" if is_missing(share) else f"{100 * float(share):.{digits}f} %"


def eur(amount: Any) -> str:
    """Euros, in millions from a million on."""
    if is_missing(amount):
        return "–"
    amount = float(amount)
    if abs(amount) >= 1e6:
        return f"EUR {amount / 1e6:,.1f} million"
    return f"EUR {amount:,.0f}"


def eur_interval(low: Any, high: Any) -> str:
    """A CI in euros, both bounds in one unit (millions when either reaches a million)."""
    if is_missing(low) or is_missing(high):
        return "–"
    if max(abs(float(low)), abs(float(high))) >= 1e6:
        return f"EUR {float(low) / 1e6:,.1f} to {float(high) / 1e6:,.1f} million"
    return f"EUR {float(low):,.0f} to {float(high):,.0f}"


def interval(low: Any, high: Any, digits: int = 2, *, fmt: Callable[[Any], str] | None = None) -> str:
    """A confidence interval as "low to high" (a dash would read as a minus sign)."""
    if is_missing(low) or is_missing(high):
        return "–"
    show = fmt or (lambda x: num(x, digits))
    return f"{show(low)} to {show(high)}"


# ---- blocks -------------------------------------------------------------------------------
def section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{esc(anchor)}">\n<h2>{esc(title)}</h2>\n{body}\n</section>\n'


def para(text: str, *, cls: str | None = None) -> str:
    """A paragraph of trusted HTML (callers escape data they put in it)."""
    return f'<p class="{cls}">{text}</p>' if cls else f"<p>{text}</p>"


def absent(what: str) -> str:
    return para(esc(what), cls="absent")


def figure(fig: Figure, caption: str, *, alt: str | None = None, dpi: int = FIGURE_DPI) -> str:
    """Embed a matplotlib figure as a PNG data URI and close it.

    ``caption`` is trusted HTML (it may hold ``<b>``); ``alt`` is plain text
    and defaults to the caption without tags.
    """
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", facecolor="white")
    finally:
        plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    plain = alt if alt is not None else _strip_tags(caption)
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{esc(plain)}">'
            f"<figcaption>{caption}</figcaption></figure>")


def _strip_tags(text: str) -> str:
    import re

    return html.unescape(re.sub(r"<[^>]+>", "", text))


Formatter = Callable[[Any], str]


def table(frame: pd.DataFrame, *, formats: Mapping[str, Formatter] | None = None,
          default: Formatter | None = None, caption: str | None = None, index: bool = True,
          index_label: str | None = None, flags: pd.DataFrame | None = None,
          row_class: Mapping[Any, str] | None = None, headers: Mapping[str, str] | None = None,
          header: bool = True, right: Iterable[str] = ()) -> str:
    """A DataFrame as an HTML table with per-column formatting.

    Parameters
    ----------
    formats : mapping column -> callable, optional
        Formats the cell values of a column (default: :func:`num` for
        numbers, the escaped text otherwise).
    flags : DataFrame of bool, optional
        Same shape and labels as ``frame``; True cells get class ``flag``
        (highlighted).
    row_class : mapping index label -> CSS class, optional
    headers : mapping column -> header text, optional
    header : bool
        False leaves out the header row (for tables of item and value).
    right : columns, optional
        Right-align these columns too (numbers already formatted as text).
    """
    formats = dict(formats or {})
    headers = dict(headers or {})
    numeric = {c: pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
               for c in frame.columns}
    aligned = {c: numeric[c] or c in set(right) for c in frame.columns}
    cells = []
    if caption:
        cells.append(f"<caption>{caption}</caption>")
    head = []
    if index:
        head.append(f'<th>{esc(index_label if index_label is not None else (frame.index.name or ""))}</th>')
    for c in frame.columns:
        cls = ' class="num"' if aligned[c] else ""
        head.append(f"<th{cls}>{esc(headers.get(c, c))}</th>")
    if header:
        cells.append("<thead><tr>" + "".join(head) + "</tr></thead>")
    cells.append("<tbody>")
    for position, (label, row) in enumerate(frame.iterrows()):
        rc = (row_class or {}).get(label)
        out = [f'<tr class="{esc(rc)}">' if rc else "<tr>"]
        if index:
            out.append(f'<th class="rowhead">{esc(label)}</th>')
        for c in frame.columns:
            value = row[c]
            show = formats.get(c) or (default if numeric[c] and default else None)
            text = show(value) if show else (num(value) if numeric[c] else
                                             ("–" if is_missing(value) else esc(value)))
            classes = ["num"] if aligned[c] else []
            if flags is not None and c in flags.columns and bool(flags.iloc[position][c]):
                classes.append("flag")
            cls = f' class="{" ".join(classes)}"' if classes else ""
            out.append(f"<td{cls}>{text}</td>")
        cells.append("".join(out) + "</tr>")
    cells.append("</tbody>")
    return '<div class="scroll"><table>' + "".join(cells) + "</table></div>"


def key_figures(items: Iterable[tuple[str, str, str]]) -> str:
    """Cards of (label, value, detail); the value is trusted HTML."""
    cards = "".join(f'<div class="key"><div class="label">{esc(label)}</div>'
                    f'<div class="value">{value}</div><div class="detail">{detail}</div></div>'
                    for label, value, detail in items)
    return f'<div class="keys">{cards}</div>'


def page(title: str, subtitle: str, nav: list[tuple[str, str]], body: str, footer: str) -> str:
    """The whole self-contained document."""
    links = "".join(f'<li><a href="#{esc(a)}">{esc(t)}</a></li>' for a, t in nav)
    # the section titles carry their numbers, so the list is not numbered again
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
            f"<h1>{esc(title)}</h1>\n<p class=\"subtitle\">{subtitle}</p>\n"
            f"<nav><ul>{links}</ul></nav>\n{body}\n<footer>{footer}</footer>\n"
            "</main>\n</body>\n</html>\n")
