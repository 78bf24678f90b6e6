/* include/mc/pvalue.h: permutation p-values, z-scores, effect sizes, distribution tails and the
   combination of p-values (Fisher, Bates, Benjamini-Hochberg, rank-histogram chi-square): docs/method.md
   section 7 and docs/importance.md. Every function is plain serial arithmetic: Not collective, no MPI, no allocation
   visible to the caller. Bad arguments raise PETSC_ERR_USER_INPUT (or PETSC_ERR_ARG_OUTOFRANGE for
   values outside a supported range) on PETSC_COMM_SELF. */
#pragma once
#include <petscsys.h>

/* Direction of a one-sided permutation test: which null values count as "at least as extreme". */
typedef enum {
  MC_TAIL_LOWER = 0, /* small statistics are extreme: count null <= true (ncut, m, entropy) */
  MC_TAIL_UPPER = 1  /* large statistics are extreme: count null >= true (range, score, MSE) */
} MCTail;

/* Treatment of null values equal to the true value (config key p_ties). */
typedef enum {
  MC_TIES_INCLUSIVE = 0, /* ties count as extreme (<=, >=); the default */
  MC_TIES_STRICT = 1     /* ties do not count (<, >); reproduces the reference code */
} MCTies;

/* ------------------------------------------------------------------ pvalue.c: one test */

/* mc_stats_ties_name - "inclusive" or "strict" (the p_ties values, in that order); "unknown" out of range.
   Not collective. */
const char *mc_stats_ties_name(MCTies ties);

/* mc_stats_perm_pvalue - Discrete one-sided permutation p-value
     p = (#{null values at least as extreme as t_true} + 1) / (n_used + 1).
   NaN entries of null[] are skipped (a draw whose statistic is undefined, e.g. the range with mean
   change 0), so n_used = number of finite-or-infinite non-NaN entries <= n_null. With n_used = 0 the
   result is p = 1. If t_true is NaN, *p is NaN (the caller skips the test).
   Inputs: t_true, n_null (>= 0) entries of null[] (borrowed, read only), tail, ties.
   Outputs: *p in [1/(n_used+1), 1]; *n_used (may be NULL). Not collective. */
PetscErrorCode mc_stats_perm_pvalue(PetscReal t_true, PetscInt n_null, const PetscReal null[], MCTail tail, MCTies ties,
                                    PetscReal *p, PetscInt *n_used);

/* mc_stats_zscore - z = (t_true - mean(null)) / std(null), population std (ddof = 0), docs/method.md section 7.
   NaN entries of null[] are skipped. *z is NaN when the std is 0 (all null values equal), when no
   non-NaN null value is left, or when t_true is NaN. *mean and *std (either may be NULL) receive the
   null's mean and population std (NaN when no value is left). Not collective. */
PetscErrorCode mc_stats_zscore(PetscReal t_true, PetscInt n_null, const PetscReal null[], PetscReal *z, PetscReal *mean,
                               PetscReal *std);

/* mc_stats_effect_mean - Lesion "mean" effect (docs/importance.md): with dm_true = m_true - m0 and
   dm_bar = mean of dm_rand[] (NaN entries skipped),
     e = dm_true / (dm_true + dm_bar) if dm_true < 0 and dm_bar < 0, else 0.
   NaN if dm_true is NaN or no random value is left. Report 2e (1 = like random). Not collective. */
PetscErrorCode mc_stats_effect_mean(PetscReal dm_true, PetscInt n_rand, const PetscReal dm_rand[], PetscReal *e);

/* mc_stats_effect_range - Lesion "range" effect (section 7): e = r_true / (r_true + mean r_rand), NaN
   entries of r_rand[] skipped. NaN if r_true is NaN, no random value is left, or the denominator is 0.
   Report 2e. Not collective. */
PetscErrorCode mc_stats_effect_range(PetscReal r_true, PetscInt n_rand, const PetscReal r_rand[], PetscReal *e);

/* mc_stats_effect_ratio - Visualization effect (section 8): e = 2 * mean_i [t_true / (t_true + rand_i)]
   over the non-NaN rand[] entries whose denominator t_true + rand_i is non-zero (1 = like random; score
   > 1 and entropy < 1 mean stronger than random). NaN if no term is left or t_true is NaN. Not collective. */
PetscErrorCode mc_stats_effect_ratio(PetscReal t_true, PetscInt n_rand, const PetscReal rand[], PetscReal *e);

/* mc_stats_effect_entropy - Dataset-example effect (section 9): e = mean(h_rand) / h_true, NaN entries
   skipped; +Inf when h_true = 0 (and the mean is > 0), NaN when both are 0 or nothing is left. Not
   collective. */
PetscErrorCode mc_stats_effect_entropy(PetscReal h_true, PetscInt n_rand, const PetscReal h_rand[], PetscReal *e);

/* mc_stats_mean_sem - Mean and standard error of the mean, SEM = sample std (ddof = 1) / sqrt(n), as
   scipy.stats.sem, over the non-NaN entries of x[] (n_used of them; *n_used may be NULL). With
   n_used = 1 the SEM is NaN; with n_used = 0 both are NaN. Not collective. */
PetscErrorCode mc_stats_mean_sem(PetscInt n, const PetscReal x[], PetscReal *mean, PetscReal *sem, PetscInt *n_used);

/* ------------------------------------------------------------------ tails.c: distribution tails */

/* mc_stats_chi2_sf_even - Survival function of the chi-square distribution with 2m degrees of freedom,
   in closed form sf(x) = exp(-x/2) sum_{j<m} (x/2)^j / j!, summed around its largest term with the
   exponent kept in log space, so no overflow or underflow for any m and x (results below ~1e-308
   underflow to 0). m >= 1, x >= 0 (x = +Inf gives 0); x NaN gives NaN. Not collective. */
PetscErrorCode mc_stats_chi2_sf_even(PetscReal x, PetscInt m, PetscReal *sf);

/* mc_stats_gammaincc - Regularized upper incomplete gamma Q(a, x) = Gamma(a, x) / Gamma(a), a > 0,
   x >= 0 (scipy.special.gammaincc): power series for P = 1 - Q when x < a + 1, Lentz continued fraction
   for Q otherwise. Relative accuracy about 1e-13 for a up to ~1e4. Not collective. */
PetscErrorCode mc_stats_gammaincc(PetscReal a, PetscReal x, PetscReal *q);

/* mc_stats_chi2_sf - Chi-square survival function for any dof > 0: Q(dof/2, x/2). Not collective. */
PetscErrorCode mc_stats_chi2_sf(PetscReal x, PetscReal dof, PetscReal *sf);

/* mc_stats_normal_sf - Standard normal upper tail P(Z > z) = erfc(z / sqrt 2) / 2, accurate in the far
   tail (no 1 - cdf cancellation). Not collective. */
PetscErrorCode mc_stats_normal_sf(PetscReal z, PetscReal *sf);

/* Largest number of summands supported by mc_stats_irwin_hall_cdf(). */
#define MC_IRWIN_HALL_MAX_R 30

/* mc_stats_irwin_hall_cdf - CDF of the sum of R independent U(0,1):
     F(x; R) = (1/R!) sum_{j=0}^{floor x} (-1)^j C(R, j) (x - j)^R, 0 <= x <= R,
   0 below 0 and 1 above R. The alternating sum is evaluated for min(x, R - x) (symmetry) in long double;
   its cancellation factor (sum of |terms| / result) is at most ~500 for R = 20 and ~2.4e4 for R = 30.
   Supported: 1 <= R <= MC_IRWIN_HALL_MAX_R; the function also checks at run time that the estimated
   relative rounding error stays below 1e-11 and raises PETSC_ERR_ARG_OUTOFRANGE otherwise (this only
   happens for R > ~20 where long double is no wider than double). Not collective. */
PetscErrorCode mc_stats_irwin_hall_cdf(PetscReal x, PetscInt R, PetscReal *cdf);

/* ------------------------------------------------------------------ combine.c: many tests */

/* mc_stats_fisher - Fisher's method over one network's sub-cluster p-values (docs/importance.md, steps 1-2).
   Each p is shifted p' = p - 1/(2 (n_random + 1)) (n_random = 0: no shift, for continuous p-values);
   X = -2 sum ln p', *p_F = chi-square sf of X with 2m dof, *stat = -(1/m) sum ln p' (the "Fisher stat").
   NaN entries of p[] are skipped and m counts the others (*m_used, may be NULL); with m = 0 both
   outputs are NaN. Errors: PETSC_ERR_USER_INPUT if a p is outside (0, 1] or its shifted value is not
   > 0 (a p below 1/(n_random + 1) cannot come from n_random draws). Not collective. */
PetscErrorCode mc_stats_fisher(PetscInt n, const PetscReal p[], PetscInt n_random, PetscReal *p_F, PetscReal *stat,
                               PetscInt *m_used);

/* mc_stats_bates - Combine per-replicate p-values (docs/importance.md, step 3): p = F_IH(R mean(p_F); R) over
   the R non-NaN entries of p_F[] (R = 1 returns that p_F). NaN when R = 0. Errors: PETSC_ERR_USER_INPUT
   if a p_F is outside [0, 1]; PETSC_ERR_ARG_OUTOFRANGE if R > MC_IRWIN_HALL_MAX_R. Not collective. */
PetscErrorCode mc_stats_bates(PetscInt n, const PetscReal p_F[], PetscReal *p);

/* mc_stats_bh - Benjamini-Hochberg step-up at level q (0 < q < 1) over the M non-NaN entries of p[]
   (docs/importance.md, step 4): i* = max{i : p_(i) <= i q / M} (0 if none), *threshold = i* q / M (0 if none).
   rejected[] (n entries, caller-owned, may be NULL) is PETSC_TRUE for the i* smallest p (equal p-values
   are always rejected together); qval[] (n entries, may be
   NULL) gets BH-adjusted q-values q_(i) = min_{j >= i} min(1, p_(j) M / j), as
   scipy.stats.false_discovery_control(method='bh') computes them. NaN p entries are not tests: not
   rejected, qval NaN. Errors: PETSC_ERR_USER_INPUT for a p outside [0, 1] or q outside (0, 1).
   Not collective; allocates a work array internally. */
PetscErrorCode mc_stats_bh(PetscInt n, const PetscReal p[], PetscReal q, PetscInt *n_rejected, PetscReal *threshold,
                           PetscBool rejected[], PetscReal qval[]);

/* mc_stats_rank_gof - Chi-square goodness of fit of the rank histogram of true values against uniform
   (the method specification, 10.5): ranks[] holds n ranks in 1..n_random+1 (the true value's position among its
   n_random + 1 values), counted into n_random + 1 bins with expected count n / (n_random + 1);
   *stat = sum (O - E)^2 / E, *p = chi-square sf with n_random dof (scipy.stats.chisquare of the counts).
   NaN outputs when n = 0. Errors: PETSC_ERR_USER_INPUT if n_random < 1 or a rank is out of range.
   Not collective. */
PetscErrorCode mc_stats_rank_gof(PetscInt n, const PetscInt ranks[], PetscInt n_random, PetscReal *stat, PetscReal *p);
