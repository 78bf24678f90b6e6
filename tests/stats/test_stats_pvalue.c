/* tests/stats/test_stats_pvalue.c: every function of include/mc/pvalue.h against SciPy / exact-arithmetic
   constants from stats_oracle.h (regenerate with gen_stats_oracle.py), plus hand-counted edge cases and
   argument errors. Serial; exits non-zero on the first summary failure, printing every mismatch. */
#include "mc/pvalue.h"

#include <math.h>

#include "stats_oracle.h"

#define RTOL 1e-10
#define N_OF(a) ((PetscInt)(sizeof(a) / sizeof((a)[0])))

typedef struct {
  int n_check, n_fail;
} Tally;

/* Equal within rtol relative; NaN matches NaN, infinities match exactly, and two values below 1e-290 (at
   the edge of double's range, where relative error is meaningless) count as equal. */
static void check_real(Tally *t, const char *what, int idx, double got, double want, double rtol)
{
  int ok;

  ++t->n_check;
  if (isnan(want) || isnan(got)) ok = isnan(want) && isnan(got);
  else if (isinf(want) || isinf(got)) ok = (got == want);
  else if (fabs(want) < 1e-290 && fabs(got) < 1e-290) ok = 1;
  else ok = (got == want) || fabs(got - want) <= rtol * fmax(fabs(got), fabs(want));
  if (!ok) {
    ++t->n_fail;
    printf("FAIL %s[%d]: got %.17g want %.17g (rel %.3g)\n", what, idx, got, want, fabs(got - want) / fmax(fabs(want), 1e-300));
  }
}

static void check_int(Tally *t, const char *what, int idx, long got, long want)
{
  ++t->n_check;
  if (got != want) {
    ++t->n_fail;
    printf("FAIL %s[%d]: got %ld want %ld\n", what, idx, got, want);
  }
}

static PetscErrorCode test_tails(Tally *t)
{
  PetscReal v;

  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < N_OF(chi2_even_cases); ++i) {
    PetscCall(mc_stats_chi2_sf_even(chi2_even_cases[i].x, chi2_even_cases[i].m, &v));
    check_real(t, "chi2_sf_even", (int)i, v, chi2_even_cases[i].sf, RTOL);
    /* The general path (incomplete gamma) must agree with the closed form. */
    PetscCall(mc_stats_chi2_sf(chi2_even_cases[i].x, 2.0 * chi2_even_cases[i].m, &v));
    check_real(t, "chi2_sf(even dof)", (int)i, v, chi2_even_cases[i].sf, RTOL);
  }
  for (PetscInt i = 0; i < N_OF(gammaincc_cases); ++i) {
    PetscCall(mc_stats_gammaincc(gammaincc_cases[i].a, gammaincc_cases[i].x, &v));
    check_real(t, "gammaincc", (int)i, v, gammaincc_cases[i].q, RTOL);
  }
  for (PetscInt i = 0; i < N_OF(chi2_cases); ++i) {
    PetscCall(mc_stats_chi2_sf(chi2_cases[i].x, chi2_cases[i].dof, &v));
    check_real(t, "chi2_sf", (int)i, v, chi2_cases[i].sf, RTOL);
  }
  for (PetscInt i = 0; i < N_OF(norm_cases); ++i) {
    PetscCall(mc_stats_normal_sf(norm_cases[i].z, &v));
    /* Rounding z / sqrt 2 costs a relative ~z^2 eps in the far tail (1e-13 at z = 30). */
    check_real(t, "normal_sf", (int)i, v, norm_cases[i].sf, 1e-11);
  }
  for (PetscInt i = 0; i < N_OF(irwin_hall_cases); ++i) {
    PetscCall(mc_stats_irwin_hall_cdf(irwin_hall_cases[i].x, irwin_hall_cases[i].R, &v));
    check_real(t, "irwin_hall_cdf", (int)i, v, irwin_hall_cases[i].cdf, RTOL);
  }
  /* Whole supported range of the Irwin-Hall CDF: no precision error raised, values in [0, 1] and
     non-decreasing on a fine grid, F(x) + F(R - x) = 1. */
  for (PetscInt R = 1; R <= MC_IRWIN_HALL_MAX_R; ++R) {
    PetscReal prev = 0.0, w;

    for (PetscInt i = 0; i <= 400 * R; ++i) {
      const PetscReal x = (PetscReal)i / 400.0 + 1e-7;

      PetscCall(mc_stats_irwin_hall_cdf(x, R, &v));
      PetscCall(mc_stats_irwin_hall_cdf((PetscReal)R - x, R, &w));
      if (!(v >= prev && v <= 1.0) || PetscAbsReal(v + w - 1.0) > 1e-13) {
        check_real(t, "irwin_hall_cdf sweep", (int)(1000 * R + i), v, prev, 0.0);
        break;
      }
      prev = v;
    }
    ++t->n_check;
  }
  /* Special values. */
  PetscCall(mc_stats_chi2_sf_even(INFINITY, 3, &v));
  check_real(t, "chi2_sf_even(inf)", 0, v, 0.0, 0.0);
  PetscCall(mc_stats_chi2_sf_even(NAN, 3, &v));
  check_real(t, "chi2_sf_even(nan)", 0, v, NAN, 0.0);
  PetscCall(mc_stats_irwin_hall_cdf(NAN, 5, &v));
  check_real(t, "irwin_hall_cdf(nan)", 0, v, NAN, 0.0);
  PetscFunctionReturn(0);
}

static PetscErrorCode test_combine(Tally *t)
{
  PetscReal pf, st, thr, qv[64];
  PetscBool rej[64];
  PetscInt  m, nrej;

  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < N_OF(fisher_cases); ++i) {
    const FisherCase *f = &fisher_cases[i];

    PetscCall(mc_stats_fisher(f->n, f->p, f->n_random, &pf, &st, &m));
    check_int(t, "fisher.m", (int)i, (long)m, f->m);
    check_real(t, "fisher.p_F", (int)i, pf, f->p_F, RTOL);
    check_real(t, "fisher.stat", (int)i, st, f->stat, 1e-13);
  }
  for (PetscInt i = 0; i < N_OF(bates_cases); ++i) {
    PetscCall(mc_stats_bates(bates_cases[i].n, bates_cases[i].p, &pf));
    check_real(t, "bates", (int)i, pf, bates_cases[i].p_bates, RTOL);
  }
  for (PetscInt i = 0; i < N_OF(bh_cases); ++i) {
    const BHCase *b = &bh_cases[i];

    PetscCheck(b->n <= 64, PETSC_COMM_SELF, PETSC_ERR_PLIB, "BH case %s too large for the test buffers", b->name);
    PetscCall(mc_stats_bh(b->n, b->p, b->q, &nrej, &thr, rej, qv));
    check_int(t, "bh.n_rejected", (int)i, (long)nrej, b->n_rej);
    check_real(t, "bh.threshold", (int)i, thr, b->thr, 1e-15);
    for (PetscInt j = 0; j < b->n; ++j) {
      check_int(t, "bh.rejected", (int)(100 * i + j), (long)rej[j], b->rej[j]);
      check_real(t, "bh.qval", (int)(100 * i + j), qv[j], b->qval[j], 1e-14);
    }
    /* Optional outputs may be NULL. */
    PetscCall(mc_stats_bh(b->n, b->p, b->q, &nrej, &thr, NULL, NULL));
    check_int(t, "bh.n_rejected(no arrays)", (int)i, (long)nrej, b->n_rej);
  }
  for (PetscInt i = 0; i < N_OF(gof_cases); ++i) {
    PetscCall(mc_stats_rank_gof(gof_cases[i].n, gof_cases[i].ranks, gof_cases[i].n_random, &st, &pf));
    check_real(t, "rank_gof.stat", (int)i, st, gof_cases[i].stat, 1e-13);
    check_real(t, "rank_gof.p", (int)i, pf, gof_cases[i].p, RTOL);
  }
  /* Empty inputs give NaN, not an error. */
  PetscCall(mc_stats_fisher(0, NULL, 19, &pf, &st, &m));
  check_real(t, "fisher(empty)", 0, pf, NAN, 0.0);
  PetscCall(mc_stats_bates(0, NULL, &pf));
  check_real(t, "bates(empty)", 0, pf, NAN, 0.0);
  PetscCall(mc_stats_bh(0, NULL, 0.05, &nrej, &thr, NULL, NULL));
  check_int(t, "bh(empty)", 0, (long)nrej, 0);
  PetscFunctionReturn(0);
}

static PetscErrorCode test_pvalue(Tally *t)
{
  PetscReal p, z, mu, sd, e, sem;
  PetscInt  n_used;

  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < N_OF(perm_cases); ++i) {
    const PermCase *c = &perm_cases[i];

    PetscCall(mc_stats_perm_pvalue(c->t, c->n, c->null, MC_TAIL_LOWER, MC_TIES_INCLUSIVE, &p, &n_used));
    check_real(t, "perm.lower_incl", (int)i, p, c->p_lower_incl, 1e-15);
    check_int(t, "perm.n_used", (int)i, (long)n_used, c->n_used);
    PetscCall(mc_stats_perm_pvalue(c->t, c->n, c->null, MC_TAIL_LOWER, MC_TIES_STRICT, &p, NULL));
    check_real(t, "perm.lower_strict", (int)i, p, c->p_lower_strict, 1e-15);
    PetscCall(mc_stats_perm_pvalue(c->t, c->n, c->null, MC_TAIL_UPPER, MC_TIES_INCLUSIVE, &p, NULL));
    check_real(t, "perm.upper_incl", (int)i, p, c->p_upper_incl, 1e-15);
    PetscCall(mc_stats_perm_pvalue(c->t, c->n, c->null, MC_TAIL_UPPER, MC_TIES_STRICT, &p, NULL));
    check_real(t, "perm.upper_strict", (int)i, p, c->p_upper_strict, 1e-15);
    if (!isnan(c->mean)) {
      PetscCall(mc_stats_zscore(c->t, c->n, c->null, &z, &mu, &sd));
      check_real(t, "zscore.z", (int)i, z, c->z, 1e-12);
      check_real(t, "zscore.mean", (int)i, mu, c->mean, 1e-14);
      check_real(t, "zscore.std", (int)i, sd, c->std, 1e-12);
    }
  }
  /* Hand-counted edge cases (docs/method.md section 7): all-equal null, inclusive -> p = 1, strict -> minimum 1/20. */
  {
    const PetscReal eq[19] = {2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2};
    const PetscReal nn[3]  = {NAN, NAN, NAN};

    PetscCall(mc_stats_perm_pvalue(2.0, 19, eq, MC_TAIL_LOWER, MC_TIES_INCLUSIVE, &p, NULL));
    check_real(t, "perm.ties_incl", 0, p, 1.0, 0.0);
    PetscCall(mc_stats_perm_pvalue(2.0, 19, eq, MC_TAIL_UPPER, MC_TIES_STRICT, &p, NULL));
    check_real(t, "perm.ties_strict", 0, p, 1.0 / 20.0, 0.0);
    PetscCall(mc_stats_zscore(2.0, 19, eq, &z, &mu, &sd));
    check_real(t, "zscore.std0", 0, z, NAN, 0.0);
    check_real(t, "zscore.std0.std", 0, sd, 0.0, 0.0);
    PetscCall(mc_stats_perm_pvalue(NAN, 19, eq, MC_TAIL_LOWER, MC_TIES_INCLUSIVE, &p, NULL));
    check_real(t, "perm.true_nan", 0, p, NAN, 0.0);
    PetscCall(mc_stats_perm_pvalue(1.0, 3, nn, MC_TAIL_LOWER, MC_TIES_INCLUSIVE, &p, &n_used));
    check_real(t, "perm.all_nan", 0, p, 1.0, 0.0);
    check_int(t, "perm.all_nan.n_used", 0, (long)n_used, 0);
    PetscCall(mc_stats_zscore(1.0, 3, nn, &z, &mu, &sd));
    check_real(t, "zscore.all_nan", 0, z, NAN, 0.0);
  }
  /* Effects (formulas of docs/importance.md and the coherence effects, evaluated by NumPy); eff_rand has a NaN at index 4. */
  PetscCall(mc_stats_effect_mean(-0.05, N_OF(eff_rand), eff_rand, &e));
  check_real(t, "effect_mean", 0, e, eff_mean_neg, 1e-13);
  PetscCall(mc_stats_effect_mean(0.01, N_OF(eff_rand), eff_rand, &e));
  check_real(t, "effect_mean(positive true)", 0, e, 0.0, 0.0);
  PetscCall(mc_stats_effect_range(1.7, N_OF(eff_range_rand), eff_range_rand, &e));
  check_real(t, "effect_range", 0, e, eff_range, 1e-13);
  PetscCall(mc_stats_effect_ratio(1.7, N_OF(eff_range_rand), eff_range_rand, &e));
  check_real(t, "effect_ratio", 0, e, eff_ratio, 1e-13);
  PetscCall(mc_stats_effect_entropy(0.8, N_OF(eff_range_rand), eff_range_rand, &e));
  check_real(t, "effect_entropy", 0, e, eff_entropy, 1e-13);
  PetscCall(mc_stats_effect_entropy(0.0, N_OF(eff_range_rand), eff_range_rand, &e));
  check_real(t, "effect_entropy(h_true=0)", 0, e, INFINITY, 0.0);
  PetscCall(mc_stats_mean_sem(N_OF(sem_x), sem_x, &mu, &sem, &n_used));
  check_real(t, "mean_sem.mean", 0, mu, sem_mean, 1e-14);
  check_real(t, "mean_sem.sem", 0, sem, sem_sem, 1e-12);
  check_int(t, "mean_sem.n_used", 0, (long)n_used, N_OF(sem_x) - 1);
  PetscCall(mc_stats_mean_sem(1, sem_x, &mu, &sem, NULL));
  check_real(t, "mean_sem(n=1).sem", 0, sem, NAN, 0.0);
  PetscFunctionReturn(0);
}

/* Every bad argument must raise (PetscCheck), not return garbage. */
static PetscErrorCode test_errors(Tally *t)
{
  const PetscReal p_zero[2] = {0.0, 0.5}, p_low[2] = {0.01, 0.5}, p_big[2] = {1.5, 0.5}, null[2] = {1, 2};
  const PetscInt  bad_rank[2] = {1, 7};
  PetscReal       a, b;
  PetscInt        k;
  PetscBool       flags[2];
  PetscErrorCode  err[12];
  int             n = 0;

  PetscFunctionBeginUser;
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  err[n++] = mc_stats_fisher(2, p_zero, 19, &a, &b, &k);
  err[n++] = mc_stats_fisher(2, p_low, 19, &a, &b, &k); /* 0.01 < 1/20: impossible with 19 draws */
  err[n++] = mc_stats_fisher(2, p_big, 19, &a, &b, &k);
  err[n++] = mc_stats_bates(2, p_big, &a);
  err[n++] = mc_stats_bh(2, p_big, 0.05, &k, &a, flags, NULL);
  err[n++] = mc_stats_bh(2, p_zero, 0.0, &k, &a, flags, NULL);
  err[n++] = mc_stats_irwin_hall_cdf(1.0, MC_IRWIN_HALL_MAX_R + 1, &a);
  err[n++] = mc_stats_chi2_sf_even(1.0, 0, &a);
  err[n++] = mc_stats_chi2_sf_even(-1.0, 2, &a);
  err[n++] = mc_stats_gammaincc(0.0, 1.0, &a);
  err[n++] = mc_stats_perm_pvalue(1.0, -1, null, MC_TAIL_LOWER, MC_TIES_INCLUSIVE, &a, NULL);
  err[n++] = mc_stats_rank_gof(2, bad_rank, 5, &a, &b);
  PetscCall(PetscPopErrorHandler());
  for (int i = 0; i < n; ++i) check_int(t, "expected error", i, (long)(err[i] != 0), 1);
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  Tally          t = {0, 0};
  PetscLogDouble mem0, mem1;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(PetscMallocGetCurrentUsage(&mem0)); /* traced with -malloc_dump, else 0 */
  PetscCall(test_tails(&t));
  PetscCall(test_combine(&t));
  PetscCall(test_pvalue(&t));
  PetscCall(test_errors(&t));
  PetscCall(PetscMallocGetCurrentUsage(&mem1));
  check_real(&t, "bytes leaked (error paths included)", 0, mem1 - mem0, 0.0, 0.0);
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "stats: %d checks, %d failures\n", t.n_check, t.n_fail));
  PetscCheck(t.n_fail == 0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "%d of %d statistics checks failed", t.n_fail, t.n_check);
  PetscCall(PetscFinalize());
  return 0;
}
