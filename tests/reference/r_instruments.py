"""R reference values for ``iopoutcomes.instruments.reliable_change`` (R 4.2, base R only).

Jacobson & Truax (1991): RCI = (post - pre) / sqrt(2 SE^2), SE = SD_baseline sqrt(1 - r);
criterion a = M_dys - 2 SD_dys, b = M_func + 2 SD_func, c = (SD_dys M_func + SD_func M_dys) /
(SD_dys + SD_func) for a lower-is-better measure (functional norms M_func = 5.1, SD_func = 4.2
chosen for the test). Every literal below was printed by this script (``Rscript``):

#   py <- function(name, x) {
#     v <- ifelse(is.na(x), "nan", sprintf("%.17g", x))
#     cat(name, " = [", paste(v, collapse = ", "), "]\n", sep = "")
#   }
#   pys <- function(name, x) cat(name, " = [", paste0('"', x, '"', collapse = ", "), "]\n", sep = "")
#   i <- 0:39
#   pre <- 8 + (i * 7) %% 17
#   post <- pre + ((i * 5) %% 23) - 13
#   r <- 0.84
#   sd0 <- sd(pre)
#   se <- sd0 * sqrt(1 - r)
#   rci <- (post - pre) / sqrt(2 * se^2)
#   z <- qnorm(0.975)
#   improved <- -rci > z
#   worse <- -rci < -z
#   cut_c <- (sd0 * 5.1 + 4.2 * mean(pre)) / (sd0 + 4.2)
#   cut_a <- mean(pre) - 2 * sd0
#   cut_b <- 5.1 + 2 * 4.2
#   case_pre <- pre >= cut_c
#   case_post <- post >= cut_c
#   cat_ <- ifelse(improved & case_pre & !case_post, "recovered",
#           ifelse(improved, "improved", ifelse(worse, "deteriorated", "unchanged")))
#   py("PRE", pre); py("POST", post); py("SD_BASELINE", sd0); py("RCI", rci)
#   py("CUT_A", cut_a); py("CUT_B", cut_b); py("CUT_C", cut_c)
#   pys("CATEGORY_C", cat_)
"""

# fmt: off
PRE = [8, 15, 22, 12, 19, 9, 16, 23, 13, 20, 10, 17, 24, 14, 21, 11, 18, 8, 15, 22, 12, 19, 9, 16, 23, 13, 20, 10, 17, 24, 14, 21, 11, 18, 8, 15, 22, 12, 19, 9]
POST = [-5, 7, 19, 14, 26, -2, 10, 22, 17, 29, 1, 13, 25, 20, 9, 4, 16, 11, 23, 12, 7, 19, 14, 3, 15, 10, 22, 17, 6, 18, 13, 25, 20, 9, 4, 16, 28, 0, 12, 7]
SD_BASELINE = [5.0331592770040876]
RCI = [-4.5659135989516848, -2.8097929839702673, -1.0536723689888503, 0.70244824599256683, 2.4585688609739842, -3.8634653529591176, -2.1073447379777006, -0.35122412299628342, 1.4048964919851337, 3.1610171069665509, -3.1610171069665509, -1.4048964919851337, 0.35122412299628342, 2.1073447379777006, -4.2146894759554012, -2.4585688609739842, -0.70244824599256683, 1.0536723689888503, 2.8097929839702673, -3.5122412299628345, -1.7561206149814172, 0, 1.7561206149814172, -4.5659135989516848, -2.8097929839702673, -1.0536723689888503, 0.70244824599256683, 2.4585688609739842, -3.8634653529591176, -2.1073447379777006, -0.35122412299628342, 1.4048964919851337, 3.1610171069665509, -3.1610171069665509, -1.4048964919851337, 0.35122412299628342, 2.1073447379777006, -4.2146894759554012, -2.4585688609739842, -0.70244824599256683]
CUT_A = [5.6586814459918244]
CUT_B = [13.5]
CUT_C = [9.933123599539984]
CATEGORY_C = ["improved", "recovered", "unchanged", "unchanged", "deteriorated", "improved", "improved", "unchanged", "unchanged", "deteriorated", "recovered", "unchanged", "unchanged", "deteriorated", "recovered", "recovered", "unchanged", "unchanged", "deteriorated", "improved", "unchanged", "unchanged", "unchanged", "recovered", "improved", "unchanged", "unchanged", "deteriorated", "recovered", "improved", "unchanged", "unchanged", "deteriorated", "recovered", "unchanged", "unchanged", "deteriorated", "recovered", "improved", "unchanged"]
# fmt: on
