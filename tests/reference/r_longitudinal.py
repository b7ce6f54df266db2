"""R reference values for ``iopoutcomes.longitudinal`` (R 4.x, geepack 1.3.9, Debian package).

Deterministic data (no random numbers): ``tests/test_longitudinal.py::over_time_frame`` is the
Python twin. Every literal below was printed by this script (``Rscript``), each line by the
``py(...)`` call of the same name. R orders the adjusted model's terms with ``sev`` before the
interactions (index given by ``ADJ_TERMS_ORDER_SEV_INDEX``).

#   library(geepack)
#   py <- function(name, x) {
#     v <- ifelse(is.na(x), "nan", sprintf("%.17g", x))
#     cat(name, " = [", paste(v, collapse = ", "), "]\n", sep = "")
#   }
#   n <- 160; i <- 0:(n - 1); tps <- c("1mo", "3mo", "6mo", "12mo")
#   cohort <- ifelse(i %% 2 == 0, "IOP", "inpatient")
#   sev <- ((i * 11) %% 13) / 6 - 1
#   b <- ((i * 13) %% 11) / 5 - 1                     # shared episode effect -> within-episode correlation
#   long <- do.call(rbind, lapply(0:3, function(t) {
#     u <- ((i * 37 + t * 53 + (i * t) %% 17) %% 101) / 101
#     lin <- 0.6 - 0.25 * t + 0.3 * (cohort == "IOP") - 0.15 * t * (cohort == "IOP") - 0.8 * sev + 1.5 * b
#     y <- as.numeric(u < plogis(lin))
#     y[((i * 3 + t * 5) %% 9) == 0] <- NA             # about 1 in 9 follow-ups missing
#     data.frame(id = i, t = t, timepoint = factor(tps[t + 1], levels = tps), cohort = relevel(factor(cohort), ref = "inpatient"), sev = sev, y = y)
#   }))
#   long <- long[order(long$id, long$t), ]
#   cat("# sums: ", sum(long$y, na.rm = TRUE), sum(is.na(long$y)), "\n")
#   # missing = "exclude": available observations
#   ex <- long[!is.na(long$y), ]
#   f1 <- geeglm(y ~ cohort * timepoint, id = id, data = ex, family = binomial, corstr = "exchangeable")
#   py("EXCLUDE_COEF", coef(f1)); py("EXCLUDE_SE", summary(f1)$coefficients[, "Std.err"])
#   py("EXCLUDE_ALPHA", f1$geese$alpha)
#   f2 <- geeglm(y ~ cohort * timepoint + sev, id = id, data = ex, family = binomial, corstr = "exchangeable")
#   py("ADJ_COEF", coef(f2)); py("ADJ_SE", summary(f2)$coefficients[, "Std.err"])
#   py("ADJ_ALPHA", f2$geese$alpha)
#   # joint Wald test of the interaction terms from the robust covariance
#   k <- grep(":", names(coef(f1))); bb <- coef(f1)[k]; V <- vcov(f1)[k, k]
#   py("EXCLUDE_INTERACTION_CHISQ", as.numeric(t(bb) %*% solve(V) %*% bb))
#   # missing = "using": NA -> 0 (complete, saturated)
#   us <- long; us$y[is.na(us$y)] <- 0
#   f3 <- geeglm(y ~ cohort * timepoint, id = id, data = us, family = binomial, corstr = "exchangeable")
#   py("USING_COEF", coef(f3)); py("USING_SE", summary(f3)$coefficients[, "Std.err"])
#   # standardised rates and IOP - inpatient differences per timepoint with delta-method SEs (robust vcov)
#   std <- function(f) {
#     out <- NULL
#     for (tp in tps) {
#       nd1 <- data.frame(cohort = factor("IOP", levels = levels(long$cohort)), timepoint = factor(tp, levels = tps), sev = sev)
#       nd0 <- nd1; nd0$cohort <- factor("inpatient", levels = levels(long$cohort))
#       X1 <- model.matrix(delete.response(terms(f)), nd1); X0 <- model.matrix(delete.response(terms(f)), nd0)
#       p1 <- plogis(X1 %*% coef(f)); p0 <- plogis(X0 %*% coef(f))
#       g <- colMeans(as.vector(p1 * (1 - p1)) * X1) - colMeans(as.vector(p0 * (1 - p0)) * X0)
#       out <- rbind(out, c(mean(p1), mean(p0), mean(p1) - mean(p0), sqrt(t(g) %*% vcov(f) %*% g)))
#     }
#     out
#   }
#   s1 <- std(f1); s2 <- std(f2)
#   py("EXCLUDE_RATE", s1[, 1]); py("EXCLUDE_RATE_REF", s1[, 2]); py("EXCLUDE_DIFF", s1[, 3]); py("EXCLUDE_DIFF_SE", s1[, 4])
#   py("ADJ_RATE", s2[, 1]); py("ADJ_RATE_REF", s2[, 2]); py("ADJ_DIFF", s2[, 3]); py("ADJ_DIFF_SE", s2[, 4])
#   py("ADJ_TERMS_ORDER_SEV_INDEX", which(names(coef(f2)) == "sev") - 1)

Convention: geepack estimates the scale and the exchangeable correlation by moments without
degrees-of-freedom corrections; the library passes ``ddof_scale=0`` to statsmodels' GEE to match
(statsmodels' default, N - p, changes the correlation in the 3rd digit and the coefficients in
the 5th). Robust SEs are geepack's ``san.se`` (no small-sample correction).
"""

# fmt: off
# sums:  301 107
DATA_SUMS = (301, 107)  # events, missing follow-ups
EXCLUDE_COEF = [0.26987118524059522, 0.7494975410763326, 0.24095443852539539, -0.36995464379757781, -0.015589810996117746, -0.69579336210447151, -0.64941408251934984, -1.3007655249224332]
EXCLUDE_SE = [0.27704268313521535, 0.41429758937232219, 0.38382742980576778, 0.29897273918747352, 0.40069955906217786, 0.55501857608484095, 0.44171294613979067, 0.54046915902587023]
EXCLUDE_ALPHA = [0.053735424086705147]
ADJ_COEF = [0.28780795238750762, 0.77464197285091385, 0.24958710971841383, -0.38357811337642356, -0.016798804949872397, -0.6265754158991006, -0.73106879407760117, -0.6839610121213392, -1.360470015277089]
ADJ_SE = [0.2866329534093679, 0.41781738341685865, 0.39891753740818248, 0.30720407813147582, 0.41433880607082585, 0.15123211496189543, 0.57304926743151929, 0.45249474196054923, 0.55708133610827459]
ADJ_ALPHA = [0.030028560036175534]
EXCLUDE_INTERACTION_CHISQ = [7.7961746214520087]
USING_COEF = [-0.5108256237659905, 0.46081520319132918, 1.021651247531981, 0.41074216520900775, -4.4999215916139367e-16, -0.40711102421946788, -0.36073174463434632, -0.85754663133073861]
USING_SE = [0.23094010767584777, 0.32150365919658863, 0.34973005462944007, 0.27939545669125565, 0.34563950391508591, 0.48072987681147045, 0.39443506369061526, 0.48147438950241822]
EXCLUDE_RATE = [0.73484961676748373, 0.63749999999999996, 0.5, 0.42629429624516085]
EXCLUDE_RATE_REF = [0.56706128085654961, 0.625, 0.47499999999999992, 0.56323001095377212]
EXCLUDE_DIFF = [0.16778833591093412, 0.012499999999999956, 0.025000000000000078, -0.13693571470861127]
EXCLUDE_DIFF_SE = [0.09071098649271396, 0.076278171025529917, 0.07900751546530245, 0.09535387386022777]
ADJ_RATE = [0.73585427480004417, 0.63603119665541874, 0.49827628500269244, 0.42425655597186052]
ADJ_RATE_REF = [0.56839609758710652, 0.62623425203567906, 0.47645605399692781, 0.56441929493365262]
ADJ_DIFF = [0.16745817721293765, 0.0097969446197396781, 0.021820231005764634, -0.1401627389617921]
ADJ_DIFF_SE = [0.088820611126448804, 0.074154714345554165, 0.07770398119443428, 0.095764325630723054]
ADJ_TERMS_ORDER_SEV_INDEX = [5]
# fmt: on
