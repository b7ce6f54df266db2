# Reference values for tests/test_cea.py: percentile and BCa intervals of R's boot package on
# the data in cea_boot_data.csv with the stratified resample indices of cea_boot_indices.csv
# (1-based, one replicate a row: IOP rows first, then inpatient rows, each within its stratum).
# Run from tests/reference: Rscript r_cea.R
library(boot)
d <- read.csv("cea_boot_data.csv")
idx <- as.matrix(read.csv("cea_boot_indices.csv", header = FALSE))
stat <- function(data, i) {
  x <- data[i, ]
  iop <- x$cohort == "IOP"
  c(mean(x$cost[iop]) - mean(x$cost[!iop]),
    mean(x$abstinent_6mo[iop]) - mean(x$abstinent_6mo[!iop]))
}
set.seed(1)
b <- boot(d, stat, R = nrow(idx), strata = factor(d$cohort))
# replace R's own resamples by the test's indices: t computed by R from the same indices
b$t <- t(apply(idx, 1, function(i) stat(d, i)))
# Influence values of a two-sample difference of means, scaled per stratum as in Efron &
# Tibshirani (1993, eq. 14.15): (x - stratum mean) / stratum size, with the reference negative.
# (boot's empinf(type = "jack", strata = ...) returns the unscaled x - stratum mean, whose
# ratio to these is the stratum size; the library uses the two-sample scaling.)
iop <- d$cohort == "IOP"
infl <- function(x) ifelse(iop, (x - mean(x[iop])) / sum(iop), -(x - mean(x[!iop])) / sum(!iop))
Ls <- list(infl(d$cost), infl(d$abstinent_6mo))
for (k in 1:2) {
  L <- Ls[[k]]
  ci <- boot.ci(b, conf = 0.95, type = c("perc", "bca"), index = k, L = L)
  cat(sprintf("index %d: t0 %.10f perc %.10f %.10f bca %.10f %.10f a %.10f\n", k, b$t0[k],
      ci$percent[4], ci$percent[5], ci$bca[4], ci$bca[5], sum(L^3) / (6 * sum(L^2)^1.5)))
}
