"""R reference values for the X:BOT comparison (Inpatient BUP vs Inpatient NR-NTX) on the real
CTN-0094 tables, Lee et al. 2018 relapse definition (weekly words built by iopoutcomes).

The (time, event, arm) rows were exported from ``pattern_outcomes(weekly_patterns(
read_ctn0094(folder)), ["lee2018_relapse"])`` for the two arms to /tmp/xbot.csv and analysed with
R 4.2.2, survival 3.5 (Debian r-cran-survival):

    library(survival)
    d <- read.csv("/tmp/xbot.csv")
    d$cohort <- relevel(factor(d$cohort), ref = "Inpatient BUP")
    fit <- coxph(Surv(lee2018_relapse_time, lee2018_relapse_event) ~ cohort, data = d,
                 ties = "efron")
    s <- summary(fit)
    cat(sprintf("%.15g\\n", c(s$conf.int[1, c(1, 3, 4)], s$coefficients[1, 5])))
    sd <- survdiff(Surv(lee2018_relapse_time, lee2018_relapse_event) ~ cohort, data = d)
    cat(sprintf("%.15g\\n", c(sd$chisq, 1 - pchisq(sd$chisq, 1))))
    km <- survfit(Surv(lee2018_relapse_time, lee2018_relapse_event) ~ cohort, data = d,
                  conf.type = "log-log")
    print(quantile(km, 0.5))

This checks the survival step on the real data; the words themselves are checked in
tests/test_ctn0094.py against hand-worked participants and 187 published CTNote words.
"""

COX_HR = 1.44769766777792
COX_CI = (1.17349953331191, 1.78596452558841)
COX_P = 0.000553788201245038
LOGRANK_CHISQ = 9.90776554434385
LOGRANK_P = 0.0016458282073768
# quantile(km, 0.5): median weeks to relapse (lower, upper) per arm
MEDIANS = {"Inpatient BUP": (15.0, 12.0, 21.0), "Inpatient NR-NTX": (9.0, 6.0, 12.0)}


# Added for issue 22 (same /tmp/xbot.csv rows, also with trial and site columns; R 4.x,
# survival 3.5-3):
#
#     fb <- coxph(Surv(lee2018_relapse_time, lee2018_relapse_event) ~ cohort, data = d,
#                 ties = "breslow")
#     cat(sprintf("%.15g", summary(fb)$conf.int[1, c(1, 3, 4)]))
#     cat(sprintf("%.15g", cox.zph(fit)$table[, "p"]))   # fit: the Efron model above
#     cat(sprintf("%.15g", cox.zph(fb)$table[, "p"]))
#     km <- survfit(Surv(lee2018_relapse_time, lee2018_relapse_event) ~ cohort, data = d)
#     t <- summary(km, rmean = 24)$table; cat(sprintf("%.15g", c(t[, "rmean"], t[, "se(rmean)"])))
#
# Lee et al. (2018) report HR 1.36 (95% CI 1.10-1.68) for relapse, XR-NTX vs BUP-NX, with
# Breslow ties (SAS PROC PHREG default); R's Efron default gives 1.45 on the same rows.
COX_BRESLOW_HR = 1.36794858959798
COX_BRESLOW_CI = (1.1085549252007, 1.68803845550938)
ZPH_EFRON_P = 1.25145460141808e-06  # cohort term = GLOBAL (one term)
ZPH_BRESLOW_P = 2.22962711137291e-05
# restricted mean relapse-free weeks up to week 24 (Inpatient BUP, Inpatient NR-NTX), SEs
RMST_24 = (15.0846047156727, 12.2883807940137)
RMST_24_SE = (0.51096101762441, 0.55374009456469)
