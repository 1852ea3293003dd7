"""Beyond one machine: anker on Dask data frames (the optional extra ``pip install 'anker[dask]'``).

Nothing here imports Dask until a Dask frame is handed in, so ``import
anker`` works without the extra. What runs on a Dask frame, and why it
gives the in-memory answer:

- `profile_dask` (``AnkerModel.profile(ddf)``): each partition is scored by
  the model itself, lazily; the rows and values are those of the in-memory
  profile.
- `compare_cohorts_dask` (``compare_cohorts(ddf, method="naive")``):
  Kaplan-Meier, RMST and its SE, the log-rank test and the Kaplan-Meier
  bootstrap from counts per (cohort, day), summed over partitions
  (`anker.survival.counts`); with ``method="gcomp"`` also the g-computation
  estimate and its influence-function SE from per-partition sums
  (`gcomp_dask`: one exact Cox fit per cohort, the Efron baseline and each
  spell's contribution formed where the spell lies), a `DistributedComparison`.
- `fit_logistic_dask` / `fit_cox_dask`: exact Newton fits whose every step sums
  per-partition moments (X'WX and X'(y - p) for the logistic; per-day risk-set
  sums of exp(x'b), x exp(x'b) and x x' exp(x'b) with Efron's tied-event sums
  for the Cox), equal to `anker.models.logistic.fit_logistic` /
  `anker.models.cox.fit_cox` on the same rows; `learn_design_dask` learns the
  design's levels in one pass; `fit_test_dask` fits an ANKER test this way and
  `fit_model_dask` (``AnkerModel.fit(ddf)``) every test of a model.

What cannot run distributed (the weighting estimators iptw and aipw, the
difference in differences, the reintegration test, the Weibull model) raises
an error saying what it needs in memory.
"""

from anker.distributed._frames import is_dask_frame
from anker.distributed.assessments import fit_model_dask, fit_test_dask
from anker.distributed.compare import cohort_counts, compare_cohorts_dask
from anker.distributed.comparison import DistributedComparison, NaiveComparison
from anker.distributed.cox import fit_cox_dask
from anker.distributed.design import learn_design_dask
from anker.distributed.gcomp import gcomp_dask
from anker.distributed.logistic import fit_logistic_dask
from anker.distributed.profile import profile_dask

__all__ = ["is_dask_frame", "profile_dask", "compare_cohorts_dask", "cohort_counts",
           "NaiveComparison", "DistributedComparison", "gcomp_dask", "learn_design_dask",
           "fit_logistic_dask", "fit_cox_dask", "fit_test_dask", "fit_model_dask"]
