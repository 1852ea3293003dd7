# Reference values for tests/test_survival.py, from R's survival package.
#
# Inputs: rossi.csv and waltons.csv in this folder, exported unchanged from
# lifelines 0.30.3 (lifelines.datasets.load_rossi / load_waltons) with
#   df.to_csv(path, index=False)
# Output: survival_reference.json in this folder.
#
# Run from the repository root (needs R with the survival package, e.g.
# `apt-get install r-base-core r-cran-survival`; tested with survival 3.5.3):
#   Rscript tests/data/survival_reference.R
#
# What is recorded, per case:
#   - the Kaplan-Meier table of survfit(): time, n.risk, n.event, n.censor,
#     surv and the Greenwood SE of S(t) (= surv * std.err for the default
#     log-scale std.err);
#   - rmean and se(rmean) from summary(fit, rmean = horizon)$table, i.e.
#     survival:::survmean, the Greenwood-type variance of the RMST estimate
#     (the same formula as survRM2::rmst2);
#   - the same RMST SE written out by hand (survRM2's formula), as a check;
#   - survdiff() log-rank chi-square and degrees of freedom;
#   - the infinitesimal-jackknife residuals of the RMST (area under the
#     curve) per person: residuals(fit, times = horizon, type = "auc",
#     weighted = TRUE), in the rows' order (rmst_influence / n).

suppressPackageStartupMessages(library(survival))

here <- "tests/data"
rossi <- read.csv(file.path(here, "rossi.csv"))
waltons <- read.csv(file.path(here, "waltons.csv"))
# deterministic case weights for the weighted case: 1, 1.5 or 2 by prior convictions
rossi$w <- 1 + (rossi$prio %% 3) / 2
# four groups for the k-sample log-rank test
rossi$fin_race <- 2 * rossi$fin + rossi$race

num <- function(x) {
  x <- as.numeric(x)
  out <- ifelse(is.finite(x), formatC(x, digits = 17, format = "g"), "null")
  paste0("[", paste(out, collapse = ", "), "]")
}
one <- function(x) formatC(as.numeric(x), digits = 17, format = "g")

# RMST SE by survRM2's formula: sum over event times <= tau of A_j^2 d / (Y (Y - d))
rmst_se_by_hand <- function(fit, tau) {
  keep <- fit$time <= tau
  time <- fit$time[keep]
  surv <- fit$surv[keep]
  y <- fit$n.risk[keep]
  d <- fit$n.event[keep]
  widths <- diff(c(0, time, tau))
  rect <- widths * c(1, surv)
  area_after <- rev(cumsum(rev(rect[-1])))
  term <- ifelse(y - d > 0, d / (y * (y - d)), 0)
  sqrt(sum(area_after^2 * term))
}

km_case <- function(name, time, status, tau, weights = NULL) {
  fit <- if (is.null(weights)) {
    survfit(Surv(time, status) ~ 1)
  } else {
    # robust = FALSE: Greenwood on the weighted counts; survfit's default for
    # non-integer weights is the robust (infinitesimal jackknife) variance
    survfit(Surv(time, status) ~ 1, weights = weights, robust = FALSE)
  }
  tab <- summary(fit, rmean = tau)$table
  se_surv <- fit$surv * fit$std.err
  se_surv[fit$surv == 0] <- 0
  paste0(
    '    "', name, '": {\n',
    '      "horizon": ', tau, ',\n',
    '      "time": ', num(fit$time), ',\n',
    '      "n_risk": ', num(fit$n.risk), ',\n',
    '      "n_event": ', num(fit$n.event), ',\n',
    '      "n_censor": ', num(fit$n.censor), ',\n',
    '      "surv": ', num(fit$surv), ',\n',
    '      "se_surv": ', num(se_surv), ',\n',
    '      "rmean": ', one(tab[["rmean"]]), ',\n',
    '      "se_rmean": ', one(tab[["se(rmean)"]]), ',\n',
    '      "se_rmean_by_hand": ', one(rmst_se_by_hand(fit, tau)), '\n',
    "    }"
  )
}

logrank_case <- function(name, time, status, group) {
  test <- survdiff(Surv(time, status) ~ group)
  paste0(
    '    "', name, '": {"chisq": ', one(test$chisq), ', "df": ', length(test$n) - 1,
    ', "observed": ', num(test$obs), ', "expected": ', num(test$exp), "}"
  )
}

control <- waltons$group == "control"
mir <- waltons$group == "miR-137"
km <- c(
  km_case("rossi_h52", rossi$week, rossi$arrest, 52),
  km_case("rossi_h30", rossi$week, rossi$arrest, 30),
  km_case("rossi_weighted_h40", rossi$week, rossi$arrest, 40, weights = rossi$w),
  km_case("waltons_control_h50", waltons$T[control], waltons$E[control], 50),
  km_case("waltons_mir137_h50", waltons$T[mir], waltons$E[mir], 50),
  # the last miR-137 spell ends in an event: S reaches 0 before the horizon
  km_case("waltons_mir137_h62", waltons$T[mir], waltons$E[mir], 62)
)
logrank <- c(
  logrank_case("rossi_fin", rossi$week, rossi$arrest, rossi$fin),
  logrank_case("rossi_fin_race", rossi$week, rossi$arrest, rossi$fin_race),
  logrank_case("waltons_group", waltons$T, waltons$E, waltons$group)
)

auc_case <- function(name, fit, tau) {
  res <- residuals(fit, times = tau, type = "auc", weighted = TRUE)
  paste0('    "', name, '": {"horizon": ', tau, ', "residuals": ', num(res), "}")
}
influence <- c(
  auc_case("rossi_h30", survfit(Surv(week, arrest) ~ 1, data = rossi), 30),
  auc_case("rossi_weighted_h40", survfit(Surv(week, arrest) ~ 1, data = rossi, weights = w), 40)
)

json <- paste0(
  "{\n",
  '  "source": "tests/data/survival_reference.R with R ', R.version$major, ".", R.version$minor,
  ", survival ", as.character(packageVersion("survival")), '",\n',
  '  "kaplan_meier": {\n', paste(km, collapse = ",\n"), "\n  },\n",
  '  "logrank": {\n', paste(logrank, collapse = ",\n"), "\n  },\n",
  '  "rmst_influence": {\n', paste(influence, collapse = ",\n"), "\n  }\n",
  "}\n"
)
writeLines(json, file.path(here, "survival_reference.json"), sep = "")
