"""WWB check: likely to exhaust WW and need social assistance (bijstand, WWB)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def wwb_check(p_exhaust: pd.Series, *, threshold: float = 0.5) -> pd.Series:
    """Flag clients whose P(exhausting the WW entitlement) exceeds ``threshold``.

    A flag is advice to hand the client over early to the municipality, so
    that the step to social assistance (WWB) is prepared before the WW ends.

    Parameters
    ----------
    p_exhaust : Series
        P(still on benefit when the entitlement ends), e.g. from
        :meth:`BenefitDurationTest.predict_exhaustion`.
    threshold : float
        Probability above which the flag is raised.

    Examples
    --------
    >>> import pandas as pd
    >>> wwb_check(pd.Series([0.1, 0.7]), threshold=0.5).tolist()
    [False, True]
    """
    if not 0 < float(threshold) < 1:
        raise ValueError(f"threshold must lie strictly between 0 and 1, got {threshold!r}")
    values = pd.to_numeric(p_exhaust, errors="coerce")
    if values.isna().any() or ((values < 0) | (values > 1)).any():
        raise ValueError("p_exhaust must hold probabilities in [0, 1] without missing values")
    return pd.Series(np.asarray(values > threshold), index=p_exhaust.index, name="wwb_flag")
