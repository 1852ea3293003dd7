# Reference values for tests/test_outcome_efron.py::test_gformula_ate_and_se_agree_with_riskregression,
# from R's riskRegression::ate (the g-formula with its influence-function standard error).
#
# Input: gbsg2.csv in this folder (lifelines 0.30.3's load_gbsg2, unchanged).
# Output: riskregression_reference.json in this folder.
# Run from the repository root (`apt-get install r-base-core r-cran-survival r-cran-riskregression`):
#   Rscript tests/data/riskregression_reference.R
#
# As efron_reference.R: time in whole months of 30 days (heavy ties), horTh as the cohort.
# Model: coxph(Surv(month, cens) ~ hormone + age + tsize + pnodes + progrec, ties = "efron",
# x = TRUE, y = TRUE); predictCox uses the Efron baseline for it, as survfit.coxph. Recorded,
# at months 12, 24, 36 and 48: the mean risk P(T <= t) under each regime averaged over all
# women (the ATE g-formula), the difference (hormone = 1 minus 0) and their standard errors
# (ate(..., se = TRUE), influence functions of the Cox fit and of the empirical distribution
# of the covariates).

suppressPackageStartupMessages({library(survival); library(riskRegression)})

here <- "tests/data"
d <- read.csv(file.path(here, "gbsg2.csv"))
d$month <- ceiling(d$time / 30)
d$hormone <- factor(as.numeric(d$horTh == "yes"))
fit <- coxph(Surv(month, cens) ~ hormone + age + tsize + pnodes + progrec, data = d,
             ties = "efron", x = TRUE, y = TRUE)
at <- c(12, 24, 36, 48)
res <- ate(fit, data = d, treatment = "hormone", times = at, se = TRUE, band = FALSE,
           estimator = "GFORMULA", verbose = FALSE)
mr <- as.data.frame(res$meanRisk)
dr <- as.data.frame(res$diffRisk)
num <- function(x) paste0("[", paste(formatC(as.numeric(x), digits = 17, format = "g"),
                                     collapse = ", "), "]")
pick <- function(tab, lev, col) tab[tab$treatment == lev, col][order(tab[tab$treatment == lev, "time"])]
out <- c(
  "{",
  sprintf('"riskRegression_version": "%s",', as.character(packageVersion("riskRegression"))),
  sprintf('"survival_version": "%s",', as.character(packageVersion("survival"))),
  sprintf('"times": %s,', num(at)),
  sprintf('"risk_0": %s,', num(pick(mr, "0", "estimate"))),
  sprintf('"risk_0_se": %s,', num(pick(mr, "0", "se"))),
  sprintf('"risk_1": %s,', num(pick(mr, "1", "estimate"))),
  sprintf('"risk_1_se": %s,', num(pick(mr, "1", "se"))),
  sprintf('"diff": %s,', num(dr$estimate[order(dr$time)])),
  sprintf('"diff_se": %s', num(dr$se[order(dr$time)])),
  "}"
)
writeLines(out, file.path(here, "riskregression_reference.json"))
