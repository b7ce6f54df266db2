"""R reference values for ``iopoutcomes.adjust`` (R 4.x, sandwich 3.0-2).

The data are deterministic (no random numbers), so the R script below rebuilds them exactly;
``tests/test_adjust.py::adjust_frame`` is the Python twin. The script (run with ``Rscript``):

#   library(sandwich)
#   i <- 0:239
#   sev <- ((i*37) %% 101)/50 - 1
#   age <- 20 + (i*13) %% 45
#   sex <- ifelse((i*7) %% 11 < 5, "F", "M")
#   site <- paste0("s", i %% 6)
#   iop <- as.numeric(((i*53) %% 97)/97 < plogis(-1.2*sev))
#   y <- as.numeric(((i*71) %% 89)/89 < plogis(0.3 + 0.5*iop - 1.0*sev + 0.02*(age-40) + 0.3*(sex=="M")))
#   d <- data.frame(y, iop, sev, age, sex, site)
#   cat("sums", sum(y), sum(iop), "\n")
#   fit <- glm(y ~ iop + sev + age + sex, family=binomial, data=d, control=glm.control(epsilon=1e-14, maxit=100))
#   gcomp <- function(V, rows) {
#     d1 <- d[rows,]; d1$iop <- 1; d0 <- d[rows,]; d0$iop <- 0
#     X1 <- model.matrix(~ iop + sev + age + sex, d1); X0 <- model.matrix(~ iop + sev + age + sex, d0)
#     p1 <- plogis(X1 %*% coef(fit)); p0 <- plogis(X0 %*% coef(fit))
#     r1 <- mean(p1); r0 <- mean(p0)
#     g1 <- colMeans(as.vector(p1*(1-p1))*X1); g0 <- colMeans(as.vector(p0*(1-p0))*X0)
#     se_d <- sqrt(t(g1-g0) %*% V %*% (g1-g0)); gl <- g1/r1 - g0/r0; se_lrr <- sqrt(t(gl) %*% V %*% gl)
#     c(r1=r1, r0=r0, diff=r1-r0, se_diff=se_d, log_rr=log(r1/r0), se_log_rr=se_lrr,
#       log_or=coef(fit)[["iop"]], se_log_or=sqrt(V[2,2]))
#   }
#   print(gcomp(vcov(fit), rep(TRUE, 240)), digits=15)
#   print(gcomp(vcovCL(fit, cluster=~site, type="HC1"), rep(TRUE, 240)), digits=15)
#   print(gcomp(vcov(fit), d$iop == 1), digits=15)
#   # IPTW, M-estimation sandwich with a numerical Jacobian (independent of the analytic derivatives)
#   ps <- glm(iop ~ sev + age + sex, family=binomial, data=d, control=glm.control(epsilon=1e-14, maxit=100))
#   Xc <- model.matrix(ps)
#   psi <- function(theta, att=FALSE) {
#     a <- theta[1:ncol(Xc)]; m1 <- theta[ncol(Xc)+1]; m0 <- theta[ncol(Xc)+2]
#     e <- as.vector(plogis(Xc %*% a))
#     w1 <- if (att) rep(1, 240) else 1/e; w0 <- if (att) e/(1-e) else 1/(1-e)
#     cbind(Xc*(iop-e), w1*iop*(y-m1), w0*(1-iop)*(y-m0))
#   }
#   iptw <- function(att=FALSE, cl=NULL) {
#     e <- fitted(ps)
#     w1 <- if (att) rep(1, 240) else 1/e; w0 <- if (att) e/(1-e) else 1/(1-e)
#     m1 <- sum(w1*iop*y)/sum(w1*iop); m0 <- sum(w0*(1-iop)*y)/sum(w0*(1-iop))
#     theta <- c(coef(ps), m1, m0); k <- length(theta)
#     A <- matrix(0, k, k); h <- 1e-6
#     for (j in 1:k) { tp <- theta; tm <- theta; tp[j] <- tp[j]+h; tm[j] <- tm[j]-h
#       A[,j] <- (colSums(psi(tp, att)) - colSums(psi(tm, att)))/(2*h) }
#     P <- psi(theta, att)
#     if (is.null(cl)) B <- crossprod(P) else { S <- rowsum(P, cl); G <- nrow(S); B <- crossprod(S)*G/(G-1) }
#     V <- solve(A) %*% B %*% t(solve(A)); V <- V[(k-1):k, (k-1):k]
#     c(r1=m1, r0=m0, diff=m1-m0, se_diff=sqrt(V[1,1]+V[2,2]-2*V[1,2]),
#       se_log_rr=sqrt(V[1,1]/m1^2 + V[2,2]/m0^2 - 2*V[1,2]/(m1*m0)),
#       se_log_or=sqrt(V[1,1]/(m1*(1-m1))^2 + V[2,2]/(m0*(1-m0))^2 - 2*V[1,2]/(m1*(1-m1)*m0*(1-m0))))
#   }
#   print(iptw(), digits=15); print(iptw(cl=site), digits=15); print(iptw(att=TRUE), digits=15)

g-computation: glm + the delta method written out in R (analytic gradient of the averaged
predictions). IPTW: M-estimation sandwich with a *numerical* (central-difference) Jacobian of the
stacked estimating equations, independent of the analytic derivatives used in the library.
"""

# sums(y), sums(iop): a check that Python rebuilds the same data
DATA_SUMS = (155, 121)

# print(gcomp(vcov(fit), rep(TRUE, 240)), digits=15)
GCOMP_ATE = dict(
    r1=0.7245492499449449,
    r0=0.5731925599774361,
    diff=0.1513566899675087,
    se_diff=0.0642423244837398,
    log_rr=0.2343280212224837,
    se_log_rr=0.1015820528473355,
    log_or=0.7325087389923004,
    se_log_or=0.3099634874789368,
)
# print(gcomp(vcovCL(fit, cluster=~site, type="HC1"), rep(TRUE, 240)), digits=15)
GCOMP_ATE_CLUSTER = dict(
    r1=0.7245492499449449,
    r0=0.5731925599774361,
    diff=0.1513566899675087,
    se_diff=0.0361480497482348,
    log_rr=0.2343280212224837,
    se_log_rr=0.0576274386224332,
    log_or=0.7325087389923004,
    se_log_or=0.1200065365384195,
)
# print(gcomp(vcov(fit), d$iop == 1), digits=15)
GCOMP_ATT = dict(
    r1=0.7603305785123968,
    r0=0.6162497057403689,
    diff=0.1440808727720280,
    se_diff=0.0622834620217889,
    log_rr=0.2101010625780663,
    se_log_rr=0.0945610090064365,
)
# print(iptw(), digits=15)
IPTW_ATE = dict(
    r1=0.7285854054473125,
    r0=0.5658553210621652,
    diff=0.1627300843851474,
    se_diff=0.0641715867775828,
    se_log_rr=0.1029702078266702,
    se_log_or=0.2912698939907737,
)
# print(iptw(cl=site), digits=15)
IPTW_ATE_CLUSTER = dict(
    r1=0.7285854054473125,
    r0=0.5658553210621652,
    diff=0.1627300843851474,
    se_diff=0.0321352057837207,
    se_log_rr=0.0499109782362021,
    se_log_or=0.1501460718699316,
)
# print(iptw(att=TRUE), digits=15)
IPTW_ATT = dict(
    r1=0.7603305785123967,
    r0=0.6018062573615671,
    diff=0.1585243211508296,
    se_diff=0.0693394893740312,
    se_log_rr=0.1090744591072261,
    se_log_or=0.3180949158989504,
)
