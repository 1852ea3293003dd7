# Reference values for tests/test_outcome_efron.py, from R's survival package.
#
# Input: gbsg2.csv in this folder, exported unchanged from lifelines 0.30.3
# (lifelines.datasets.load_gbsg2) with df.to_csv(path, index=False).
# Output: efron_reference.json in this folder.
#
# Run from the repository root (R with the survival package, e.g.
# `apt-get install r-base-core r-cran-survival`):
#   Rscript tests/data/efron_reference.R
#
# Benefit durations are whole days, so ties are heavy; GBSG2's days have few,
# so time is coarsened to whole months of 30 days, ceiling(time / 30), which
# ties most exits. The cohort is horTh (yes = 1). Model:
#   coxph(Surv(month, cens) ~ hormone + age + tsize + pnodes + progrec, ties = "efron")
# Recorded:
#   - coef and var of the fit;
#   - the Efron baseline: survfit(fit, newdata = <covariate means>) cumhaz at its times
#     (survfit.coxph uses the Efron hazard for an Efron fit);
#   - S(t | x) from survfit(fit, newdata = first 5 rows) at months 12, 24, 36, 60;
#   - residuals(fit, type = "score"): the exact Efron score residuals (n x p);
#   - cox.zph(fit, transform = "km", terms = FALSE)$table (survival >= 3: a score test,
#     km transform with S(t-));
#   - the g-formula ATT of restricted mean months up to 60: mean over horTh = yes of
#     integral_0^60 S(t | hormone = 1, x) - S(t | hormone = 0, x) dt, from survfit curves.

suppressPackageStartupMessages(library(survival))

here <- "tests/data"
d <- read.csv(file.path(here, "gbsg2.csv"))
d$month <- ceiling(d$time / 30)
d$hormone <- as.numeric(d$horTh == "yes")
fit <- coxph(Surv(month, cens) ~ hormone + age + tsize + pnodes + progrec, data = d,
             ties = "efron")

num <- function(x) {
  x <- as.numeric(x)
  paste0("[", paste(formatC(x, digits = 17, format = "g"), collapse = ", "), "]")
}
mat <- function(m) paste0("[", paste(apply(m, 1, num), collapse = ", "), "]")

vars <- c("hormone", "age", "tsize", "pnodes", "progrec")
means <- as.data.frame(t(colMeans(d[, vars])))
base <- survfit(fit, newdata = means)
pred <- survfit(fit, newdata = d[1:5, vars])
at <- c(12, 24, 36, 60)
S_at <- t(summary(pred, times = at, extend = TRUE)$surv)
score <- residuals(fit, type = "score")
zph <- cox.zph(fit, transform = "km", terms = FALSE)$table

horizon <- 60
treated <- d[d$hormone == 1, vars]
rmst_of <- function(newdata) {
  sf <- survfit(fit, newdata = newdata)
  tt <- c(0, sf$time[sf$time <= horizon])
  S <- rbind(rep(1, nrow(newdata)), sf$surv[sf$time <= horizon, , drop = FALSE])
  widths <- diff(c(tt, horizon))
  colSums(S * widths)
}
as1 <- treated; as1$hormone <- 1
as0 <- treated; as0$hormone <- 0
att <- mean(rmst_of(as1) - rmst_of(as0))

out <- c(
  "{",
  sprintf('"survival_version": "%s",', as.character(packageVersion("survival"))),
  sprintf('"terms": ["%s"],', paste(vars, collapse = '", "')),
  sprintf('"coef": %s,', num(coef(fit))),
  sprintf('"var": %s,', mat(fit$var)),
  sprintf('"baseline_times": %s,', num(base$time)),
  sprintf('"baseline_cumhaz": %s,', num(base$cumhaz)),
  sprintf('"pred_times": %s,', num(at)),
  sprintf('"pred_survival": %s,', mat(S_at)),
  sprintf('"score_residuals": %s,', mat(score)),
  sprintf('"zph_chisq": %s,', num(zph[, "chisq"])),
  sprintf('"zph_df": %s,', num(zph[, "df"])),
  sprintf('"zph_p": %s,', num(zph[, "p"])),
  sprintf('"zph_rows": ["%s"],', paste(rownames(zph), collapse = '", "')),
  sprintf('"gformula_att_rmst_60": %s', formatC(att, digits = 17, format = "g")),
  "}"
)
writeLines(out, file.path(here, "efron_reference.json"))
