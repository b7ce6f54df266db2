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
