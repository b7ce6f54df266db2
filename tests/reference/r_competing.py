"""R reference values for ``iopoutcomes.competing`` (R 4.x, cmprsk 2.2-11, survival 3.5-3).

Deterministic data (no random numbers): ``tests/test_competing.py::competing_frame`` is the
Python twin of the data built below (150 episodes, 3 groups, many tied times, 57% censored, and
no deaths in the residential group). Every literal below was printed by this script
(``Rscript``), each line by the ``py(...)`` call of the same name. ``cuminc``'s step vectors
are read at the corners where each cause's curve jumps (``seq(3, length - 1, by = 2)``).
``FG1_*`` (``survival::finegray`` + weighted ``coxph``) is stored for comparison only: on tied
data ``finegray`` evaluates the censoring distribution at slightly different times than
``crr``, so the two differ in the fourth decimal; the library follows ``crr``.

#   library(survival); library(cmprsk)
#   py <- function(name, x) {
#     v <- ifelse(is.na(x), "nan", ifelse(is.infinite(x), "inf", sprintf("%.17g", x)))
#     cat(name, " = [", paste(v, collapse = ", "), "]\n", sep = "")
#   }
#   i <- 0:149
#   group <- c("IOP", "inpatient", "residential")[(i %% 3) + 1]
#   time <- 1 + ((i * 37) %% 23)
#   s <- (i * 7) %% 10
#   status <- ifelse(s <= 4, 0, ifelse(s <= 7, 1, 2))
#   status[group == "residential" & status == 2] <- 0
#   sev <- ((i * 11) %% 13) / 6 - 1
#   d <- data.frame(group, time, status, sev)
#   cat("# table\n"); print(table(d$group, d$status))
#   ci <- cuminc(d$time, d$status, d$group)
#   for (nm in names(ci)[names(ci) != "Tests"]) {
#     x <- ci[[nm]]
#     key <- toupper(gsub(" ", "_", nm))
#     if (length(x$time) > 2) { k <- seq(3, length(x$time) - 1, by = 2); py(paste0("CI_", key, "_TIME"), x$time[k]); py(paste0("CI_", key, "_EST"), x$est[k]); py(paste0("CI_", key, "_VAR"), x$var[k]) }
#     else { py(paste0("CI_", key, "_TIME"), numeric(0)); py(paste0("CI_", key, "_EST"), numeric(0)); py(paste0("CI_", key, "_VAR"), numeric(0)) }
#   }
#   py("GRAY3_STAT", ci$Tests[, "stat"]); py("GRAY3_PV", ci$Tests[, "pv"]); py("GRAY3_DF", ci$Tests[, "df"])
#   tp <- timepoints(ci, c(0.5, 5, 10.5, 17, 30))
#   py("AT_EST", t(tp$est)); py("AT_VAR", t(tp$var))
#   d2 <- d[d$group != "residential", ]
#   ci2 <- cuminc(d2$time, d2$status, d2$group)
#   py("GRAY2_STAT", ci2$Tests[, "stat"]); py("GRAY2_PV", ci2$Tests[, "pv"])
#   X <- cbind(IOP = as.numeric(d$group == "IOP"), residential = as.numeric(d$group == "residential"))
#   f1 <- crr(d$time, d$status, X, failcode = 1, gtol = 1e-12, maxiter = 100)
#   py("CRR1_COEF", f1$coef); py("CRR1_SE", sqrt(diag(f1$var)))
#   f1a <- crr(d$time, d$status, cbind(X, sev = d$sev), failcode = 1, gtol = 1e-12, maxiter = 100)
#   py("CRR1ADJ_COEF", f1a$coef); py("CRR1ADJ_SE", sqrt(diag(f1a$var)))
#   X2 <- cbind(IOP = as.numeric(d2$group == "IOP"))
#   f2 <- crr(d2$time, d2$status, X2, failcode = 2, gtol = 1e-12, maxiter = 100)
#   py("CRR2_COEF", f2$coef); py("CRR2_SE", sqrt(diag(f2$var)))
#   d$grp <- relevel(factor(d$group), ref = "inpatient")
#   d$fs <- factor(d$status, 0:2, c("censor", "relapse", "died"))
#   fg <- finegray(Surv(time, fs) ~ ., data = d, etype = "relapse")
#   fc <- coxph(Surv(fgstart, fgstop, fgstatus) ~ grp, weight = fgwt, data = fg, ties = "breslow", control = coxph.control(eps = 1e-12, iter.max = 100))
#   py("FG1_COEF", coef(fc)); py("FG1_ROBUST_SE", sqrt(diag(vcov(fc))))
#   ctl <- coxph.control(eps = 1e-12, iter.max = 100)
#   cs <- coxph(Surv(time, status == 1) ~ grp, data = d, ties = "efron", control = ctl)
#   py("CS1_COEF", coef(cs)); py("CS1_SE", sqrt(diag(vcov(cs))))
#   cs2 <- coxph(Surv(time, status == 1) ~ grp + sev, data = d, ties = "efron", control = ctl)
#   py("CS1ADJ_COEF", coef(cs2)); py("CS1ADJ_SE", sqrt(diag(vcov(cs2))))
#   ms <- survfit(Surv(time, fs) ~ grp, data = d)
#   # Aalen-Johansen from survfit (multi-state): pstate at the cuminc time points
#   sm <- summary(ms, times = c(0.5, 5, 10.5, 17, 22))
#   py("MS_RELAPSE", sm$pstate[, 2]); py("MS_DIED", sm$pstate[, 3])
"""

from math import inf, nan  # noqa: F401

# fmt: off
CI_INPATIENT_1_TIME = [1, 2, 3, 4, 6, 7, 8, 10, 12, 14, 15, 16, 18, 20, 21]
CI_INPATIENT_1_EST = [0.02, 0.04041666666666667, 0.060833333333333336, 0.08219961240310078, 0.10520945140131187, 0.12821929039952296, 0.15190588936826968, 0.17717159493493284, 0.20543309130450035, 0.23504037321547583, 0.26620593312176583, 0.30126718801634206, 0.34196328744754662, 0.39232471049366224, 0.45107970404746384]
CI_INPATIENT_1_VAR = [0.00040000000000000007, 0.00080034722222222226, 0.0011833121652488974, 0.0015864322638266522, 0.0020371632473578276, 0.0024626137400492651, 0.0028906746115485642, 0.0033578354686678953, 0.0039291534693731579, 0.0045170714860883563, 0.0051247234767271979, 0.005869973191574682, 0.0068573959757056192, 0.0083916667703341011, 0.010236008412880596]
CI_IOP_1_TIME = [1, 2, 4, 5, 6, 8, 10, 12, 14, 16, 18, 19, 20, 22, 23]
CI_IOP_1_EST = [0.02, 0.040851063829787232, 0.063156853043047995, 0.085462642256308757, 0.10834037478273005, 0.13252540631066112, 0.15905092476065005, 0.18655886981989783, 0.21781789829631576, 0.25246332152434559, 0.29226114102731321, 0.33567694412145971, 0.38391672533717802, 0.46431636069670856, 0.58491581373600443]
CI_IOP_1_VAR = [0.00040000000000000007, 0.00081792666364870984, 0.0012778741570755947, 0.0017150276952518709, 0.0021534357907981557, 0.0026225368856723601, 0.0031675917752325366, 0.0037197775991296743, 0.0044148052814249345, 0.0052324896113984005, 0.0062750676020139045, 0.0074024069970600737, 0.0086547321576193673, 0.013201357798156316, 0.022503634730540206]
CI_RESIDENTIAL_1_TIME = [2, 3, 4, 6, 8, 10, 12, 14, 16, 17, 18, 20, 21, 22, 23]
CI_RESIDENTIAL_1_EST = [0.020833333333333332, 0.042592592592592592, 0.064857881136950901, 0.088835884184721381, 0.11563482876752369, 0.14511366780860624, 0.17799391135442907, 0.2153578244746823, 0.25894905644831107, 0.30526474042029161, 0.35870591423411535, 0.42996081265254699, 0.51139498227361169, 0.63354623670520871, 0.81677311835260435]
CI_RESIDENTIAL_1_VAR = [0.00043402777777777765, 0.00088841735253772283, 0.0013433191744916799, 0.0018502588234304129, 0.0024612040697795478, 0.0031688604208596084, 0.0040109000059244202, 0.0050506217197997093, 0.0064052253723309227, 0.0077747351941926026, 0.009480585496254551, 0.012568093533315956, 0.015865225353288132, 0.023845118220437334, 0.039533369713338207]
CI_INPATIENT_2_TIME = [2, 6, 7, 8, 11, 12, 13, 17, 19, 23]
CI_INPATIENT_2_EST = [0.020416666666666666, 0.043426505664877754, 0.066436344663088842, 0.090122943631835553, 0.11629099582587954, 0.14455249219544705, 0.17281398856501456, 0.21037961880920339, 0.25514532818352842, 0.40203281206803243]
CI_INPATIENT_2_VAR = [0.00041701388888888897, 0.00092771504549379554, 0.0014131357112589643, 0.0019029305844518092, 0.0024795803793509585, 0.0031211587872015762, 0.0037123256657695886, 0.0048023374779577422, 0.0062887742565544396, 0.02740363001559748]
CI_IOP_2_TIME = [4, 6, 10, 11, 12, 15, 16, 17, 21, 23]
CI_IOP_2_EST = [0.022305789213260759, 0.045183521739682049, 0.071709040189670975, 0.098234558639659894, 0.12574250369890766, 0.15856448359914649, 0.19320990682717634, 0.23016502493707486, 0.29448473322469931, 0.41508418626399518]
CI_IOP_2_VAR = [0.0004979905940617087, 0.00099881084864338662, 0.0016486222567215617, 0.0022586605633310186, 0.0028781746251467866, 0.0037426401095083583, 0.0046350094585836657, 0.0055676271825608565, 0.0089283123650364116, 0.022503634730540206]
CI_RESIDENTIAL_2_TIME = []
CI_RESIDENTIAL_2_EST = []
CI_RESIDENTIAL_2_VAR = []
GRAY3_STAT = [0.35151996556665771, 10.344582575920725]
GRAY3_PV = [0.83881929024888091, 0.0056715587457285555]
GRAY3_DF = [2, 2]
AT_EST = [0, 0.08219961240310078, 0.17717159493493284, 0.30126718801634206, nan, 0, 0.085462642256308757, 0.15905092476065005, 0.25246332152434559, nan, 0, 0.064857881136950901, 0.14511366780860624, 0.30526474042029161, nan, 0, 0.020416666666666666, 0.090122943631835553, 0.21037961880920339, nan, 0, 0.022305789213260759, 0.071709040189670975, 0.23016502493707486, nan, 0, 0, 0, 0, nan]
AT_VAR = [0, 0.0015864322638266522, 0.0033578354686678953, 0.005869973191574682, nan, 0, 0.0017150276952518709, 0.0031675917752325366, 0.0052324896113984005, nan, 0, 0.0013433191744916799, 0.0031688604208596084, 0.0077747351941926026, nan, 0, 0.00041701388888888897, 0.0019029305844518092, 0.0048023374779577422, nan, 0, 0.0004979905940617087, 0.0016486222567215617, 0.0055676271825608565, nan, 0, 0, 0, 0, nan]
GRAY2_STAT = [0.0021337401961911123, 0.0014585921593909927]
GRAY2_PV = [0.96315687941241745, 0.96953498244759173]
CRR1_COEF = [-0.017486219167985838, 0.17429888298508606]
CRR1_SE = [0.36335459422151484, 0.35514288747195816]
CRR1ADJ_COEF = [-0.017843714426583321, 0.17355523012125881, 0.067650673157082439]
CRR1ADJ_SE = [0.36298597536434823, 0.35408492634001854, 0.22748092266278311]
CRR2_COEF = [-0.0011601845891514931]
CRR2_SE = [0.43358082965121275]
FG1_COEF = [-0.01759107661637261, 0.16615212147647956]
FG1_ROBUST_SE = [0.34169883678673824, 0.34277373031129682]
CS1_COEF = [-0.028649100618061318, -0.029484215240993501]
CS1_SE = [0.36530833880685881, 0.36533343695594189]
CS1ADJ_COEF = [-0.039326078586629815, -0.03702726608666973, 0.10834653086535008]
CS1ADJ_SE = [0.36609062801113806, 0.36577142951951946, 0.24302574173681904]
MS_RELAPSE = [0, 0.08219961240310078, 0.17717159493493281, 0.301267188016342, 0.45107970404746378, 0, 0.085462642256308757, 0.15905092476065005, 0.25246332152434564, 0.4643163606967089, 0, 0.064857881136950901, 0.14511366780860624, 0.30526474042029161, 0.63354623670520871]
MS_DIED = [0, 0.020416666666666666, 0.090122943631835553, 0.21037961880920336, 0.25514532818352836, 0, 0.022305789213260759, 0.071709040189670975, 0.23016502493707491, 0.29448473322469937, 0, 0, 0, 0, 0]

# Second data set: 200 distinct times (no ties), two covariates; without ties
# survival::finegray + weighted coxph gives crr's estimate (NT_FG_COEF = NT_CRR_COEF to 1e-13).
# Printed by this script (Rscript):
#   library(survival); library(cmprsk)
#   py <- function(name, x) {
#     v <- ifelse(is.na(x), "nan", ifelse(is.infinite(x), "inf", sprintf("%.17g", x)))
#     cat(name, " = [", paste(v, collapse = ", "), "]\n", sep = "")
#   }
#   i <- 0:199
#   time <- ((i * 7919) %% 1000) / 10 + 0.5
#   s <- (i * 13) %% 7
#   status <- ifelse(s <= 2, 0, ifelse(s <= 4, 1, 2))
#   grp <- ifelse((i * 5) %% 3 == 0, "IOP", "inpatient")
#   x <- sin(i) + ((i * 3) %% 5) / 4
#   d <- data.frame(time, status, grp, x)
#   cat("# distinct times:", length(unique(time)), "\n")
#   f <- crr(d$time, d$status, cbind(IOP = as.numeric(d$grp == "IOP"), x = d$x), failcode = 1, gtol = 1e-12, maxiter = 100)
#   py("NT_CRR_COEF", f$coef); py("NT_CRR_SE", sqrt(diag(f$var)))
#   d$fs <- factor(d$status, 0:2, c("censor", "relapse", "died"))
#   d$grp <- relevel(factor(d$grp), ref = "inpatient")
#   fg <- finegray(Surv(time, fs) ~ ., data = d, etype = "relapse")
#   fc <- coxph(Surv(fgstart, fgstop, fgstatus) ~ grp + x, weight = fgwt, data = fg, ties = "breslow", control = coxph.control(eps = 1e-12, toler.chol = 1e-15, iter.max = 100))
#   py("NT_FG_COEF", coef(fc))
#   ci <- cuminc(d$time, d$status, d$grp)
#   py("NT_GRAY_STAT", ci$Tests[, "stat"])
#   tp <- timepoints(ci, c(10, 50, 90)); py("NT_AT_EST", t(tp$est)); py("NT_AT_VAR", t(tp$var))
NT_CRR_COEF = [0.039890687787148542, -0.058443283183505015]
NT_CRR_SE = [0.27590396570848608, 0.15860836118269311]
NT_FG_COEF = [0.039890687787146578, -0.058443283183501962]
NT_GRAY_STAT = [0.068427501508586078, 0.0066527714842814023]
NT_AT_EST = [0.030561327280163239, 0.1614520640525911, 0.35463466014692852, 0.03125, 0.15909050497866287, 0.37839711330653214, 0.030252808360186179, 0.15825510208908983, 0.35632408215816158, 0.03125, 0.15639184339842233, 0.37569845172629163]
NT_AT_VAR = [0.00022828029066099137, 0.001181805753831891, 0.0027736290374745821, 0.00048059226584152182, 0.0024598672418189959, 0.0062191900308040879, 0.00022364750418017642, 0.0011359143349984333, 0.0026435770945557515, 0.00048084234691725522, 0.0023769016499914242, 0.006255430780375458]
# fmt: on
