"""Design matrices and the Newton-Raphson fits every test and estimator uses.

- `anker.models.design`: the one design-matrix builder (`DesignSpec`, `design_matrix`);
- `anker.models.newton`: the shared Newton-Raphson driver (`maximise`);
- `anker.models.logistic`, `anker.models.cox`, `anker.models.weibull`: the fits
  on plain arrays (`fit_logistic`, `fit_cox`, `fit_weibull`).
"""

from anker.models.cox import CoxFit, fit_cox
from anker.models.design import DesignSpec, UnseenLevelWarning, design_matrix
from anker.models.logistic import LogisticFit, SeparationWarning, fit_logistic
from anker.models.weibull import WeibullFit, fit_weibull

__all__ = [
    "CoxFit", "fit_cox", "DesignSpec", "UnseenLevelWarning", "design_matrix",
    "LogisticFit", "SeparationWarning", "fit_logistic", "WeibullFit", "fit_weibull",
]
