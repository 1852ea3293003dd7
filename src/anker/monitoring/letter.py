"""``anker.client_letter``: per client, a plain-language letter about the advice, in Dutch or English.

The letter says what the advice is (route, trajectory, how closely the
obligations are followed, an early hand-over to the municipality); which
factors weighed most in the estimate of the chance of work, in words and
with their direction, never as coefficients; that the coach decides and
not the model; and how to ask for a review or object (bezwaar within six
weeks of a decision, Awb art. 6:7; a human review under GDPR art. 22).
Contact details and the sender are the organisation's: when not given, the
letter refers to the coach instead of inventing an address.

Every piece of text that reaches the HTML is escaped.
"""

from __future__ import annotations

import html
import warnings
from dataclasses import dataclass
from typing import Any

import pandas as pd

from anker.errors import AnkerDataError
from anker.monitoring._letter_text import FEATURE_WORDS, LANGUAGES, TEXT

__all__ = ["ClientLetter", "client_letter"]


@dataclass(frozen=True)
class ClientLetter:
    """One client's letter: a subject and sections of paragraphs, as text or HTML."""

    client_id: str
    language: str
    subject: str
    sections: tuple[tuple[str, tuple[str, ...]], ...]

    @property
    def text(self) -> str:
        """The letter as plain text."""
        lines = [self.subject, ""]
        for head, paragraphs in self.sections:
            if head:
                lines += [head, "-" * len(head)]
            lines += [*paragraphs, ""]
        return "\n".join(lines).rstrip() + "\n"

    @property
    def html(self) -> str:
        """The letter as a self-contained HTML fragment (every text escaped)."""
        out = [f'<article class="client-letter" lang="{html.escape(self.language)}">',
               f"<h1>{html.escape(self.subject)}</h1>"]
        for head, paragraphs in self.sections:
            if head:
                out.append(f"<h2>{html.escape(head)}</h2>")
            if paragraphs and paragraphs[0].startswith("- "):
                out.append("<ul>" + "".join(f"<li>{html.escape(p[2:])}</li>"
                                            for p in paragraphs) + "</ul>")
            else:
                out += [f"<p>{html.escape(p)}</p>" for p in paragraphs]
        out.append("</article>")
        return "\n".join(out)

    def __str__(self) -> str:
        return self.text


def _words(feature: str, language: str) -> str:
    return FEATURE_WORDS[language].get(feature, feature.replace("_", " "))


def _factors(model: Any, df: pd.DataFrame, top: int) -> pd.DataFrame | None:
    test = getattr(model, "tests", {}).get("labour_market")
    if test is None:
        return None
    return test.explain(df, top=top)


def client_letter(model: Any, df: pd.DataFrame, *, language: str = "nl",
                  client_col: str = "client_id", name_col: str | None = None,
                  contact: str | None = None, sender: str | None = None,
                  top: int = 3) -> list[ClientLetter]:
    """One plain-language letter per row of ``df``, in Dutch (``"nl"``) or English (``"en"``).

    Parameters
    ----------
    model : fitted AnkerModel
    df : DataFrame
        The clients (the model's features); ``client_col`` names them.
    language : {"nl", "en"}
    client_col : str
        Column with the client number (the row index when absent).
    name_col : str, optional
        Column with the client's name for the greeting; otherwise a neutral greeting.
    contact, sender : str, optional
        The organisation's contact details and signature; without them the
        letter refers to the coach (nothing is invented).
    top : int
        Number of factors named.

    Returns
    -------
    list of ClientLetter
        In the order of ``df``; each has ``.text`` and ``.html``.

    Examples
    --------
    >>> import anker
    >>> df = anker.simulate_population(n_per_cohort=1_000, seed=1).data
    >>> model = anker.AnkerModel().fit(df)
    >>> letters = anker.client_letter(model, df.head(2), language="en")
    >>> len(letters), "Your reintegration coach decides, not the model" in letters[0].text
    (2, True)
    >>> "bezwaar" in anker.client_letter(model, df.head(1))[0].text
    True
    """
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, got {language!r}")
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    if len(df) == 0:
        raise AnkerDataError("df holds no clients: no letters to write")
    if not hasattr(model, "profile") or not getattr(model, "is_fitted", False):
        raise TypeError("model must be a fitted AnkerModel")
    if not isinstance(top, int) or top < 1:
        raise ValueError(f"top must be a whole number >= 1, got {top!r}")
    for col in (c for c in (name_col,) if c is not None):
        if col not in df.columns:
            raise AnkerDataError(f"name_col {col!r} is not a column of df", columns=[col])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unseen levels, outside support: in the profile itself
        profiles = model.profile(df)
        factors = _factors(model, df, top)
    protected = sorted({f for t in model.tests.values()
                        for f in getattr(t, "protected_features_used", []) or []})
    ids = df[client_col].astype(str) if client_col in df.columns else df.index.astype(str)
    words = TEXT[language]
    letters = []
    for i, (index, prof) in enumerate(profiles.iterrows()):
        client_id = str(ids.iloc[i]) if isinstance(ids, pd.Series) else str(ids[i])
        name = str(df[name_col].iloc[i]) if name_col else None
        greeting = words["greeting"].format(
            name=name if name else ("heer/mevrouw" if language == "nl" else "Sir or Madam"))
        advice = [words["route_A"] if prof.get("route") == "A" else words["route_B"]]
        trajectory = prof.get("trajectory_advice")
        if trajectory == "trajectory":
            advice.append(words["trajectory"])
        elif trajectory == "no trajectory":
            advice.append(words["no_trajectory"])
        band = str(prof.get("compliance_band", "low"))
        if band in ("medium", "high"):
            advice.append(words[f"monitoring_{band}"])
        if bool(prof.get("wwb_flag", False)):
            advice.append(words["wwb"])
        sections = [("", (greeting, words["intro"])), (words["advice_head"], tuple(advice))]
        if factors is not None:
            row = factors.loc[index] if factors.index.is_unique else factors.iloc[i]
            items = []
            for j in range(1, top + 1):
                if f"factor_{j}" not in row.index:
                    break
                what = _words(str(row[f"factor_{j}"]), language)
                key = "raises" if row[f"contribution_{j}"] >= 0 else "lowers"
                items.append("- " + words[key].format(what=what[0].upper() + what[1:]))
            sections.append((words["factors_head"], (words["factors_intro"],)))
            sections.append(("", tuple(items)))
        sections.append(("", (words["protected_used"].format(
            what=", ".join(_words(p, language) for p in protected)) if protected
            else words["no_protected"],)))
        sections.append((words["decides_head"], (words["decides"],)))
        sections.append((words["object_head"], (words["review"], words["objection"],
                                                words["data"])))
        closing = (words["contact"].format(contact=contact) if contact
                   else words["contact_default"])
        sections.append(("", (closing, words["closing"], sender or words["sender_default"],
                              words["client"].format(client_id=client_id))))
        letters.append(ClientLetter(client_id=client_id, language=language,
                                    subject=words["subject"], sections=tuple(sections)))
    return letters
