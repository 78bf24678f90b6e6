/* src/stats/combine.c: combining many tests' p-values (docs/importance.md): Fisher per network, Bates
   across replicates, Benjamini-Hochberg over a report, and the optional rank-histogram chi-square. */
#include "mc/pvalue.h"

#include <math.h>

PetscErrorCode mc_stats_fisher(PetscInt n, const PetscReal p[], PetscInt n_random, PetscReal *p_F, PetscReal *stat,
                               PetscInt *m_used)
{
  PetscReal shift, sum_log = 0.0;
  PetscInt  m = 0;

  PetscFunctionBeginUser;
  PetscCheck(n >= 0 && (n == 0 || p), PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Fisher combination: bad p-value array of %" PetscInt_FMT " entries", n);
  PetscCheck(n_random >= 0, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Fisher combination: n_random = %" PetscInt_FMT " is negative", n_random);
  /* Half a step of the discrete p-value grid {1/(n+1), ..., 1}: makes the shifted p roughly uniform on
     (0, 1) under the null, so Fisher's statistic is roughly chi-square (and p = 1 does not give ln 1 = 0). */
  shift = n_random > 0 ? 1.0 / (2.0 * (PetscReal)(n_random + 1)) : 0.0;
  for (PetscInt i = 0; i < n; ++i) {
    PetscReal ps;

    if (PetscIsNanReal(p[i])) continue; /* a sub-cluster without a p-value is not a test */
    PetscCheck(p[i] > 0.0 && p[i] <= 1.0, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Fisher combination: p-value %g at index %" PetscInt_FMT " is outside (0, 1]", (double)p[i], i);
    ps = p[i] - shift;
    PetscCheck(ps > 0.0, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Fisher combination: p-value %g at index %" PetscInt_FMT " is below the smallest value 1/%" PetscInt_FMT " possible with n_random = %" PetscInt_FMT, (double)p[i], i, n_random + 1, n_random);
    sum_log += PetscLogReal(ps);
    ++m;
  }
  if (m_used) *m_used = m;
  if (m == 0) {
    *p_F  = (PetscReal)NAN;
    *stat = (PetscReal)NAN;
    PetscFunctionReturn(0);
  }
  PetscCall(mc_stats_chi2_sf_even(-2.0 * sum_log, m, p_F));
  *stat = -sum_log / (PetscReal)m;
  PetscFunctionReturn(0);
}

PetscErrorCode mc_stats_bates(PetscInt n, const PetscReal p_F[], PetscReal *p)
{
  PetscReal sum = 0.0;
  PetscInt  R   = 0;

  PetscFunctionBeginUser;
  PetscCheck(n >= 0 && (n == 0 || p_F), PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Bates combination: bad p-value array of %" PetscInt_FMT " entries", n);
  for (PetscInt i = 0; i < n; ++i) {
    if (PetscIsNanReal(p_F[i])) continue;
    PetscCheck(p_F[i] >= 0.0 && p_F[i] <= 1.0, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Bates combination: p-value %g at index %" PetscInt_FMT " is outside [0, 1]", (double)p_F[i], i);
    sum += p_F[i];
    ++R;
  }
  if (R == 0) {
    *p = (PetscReal)NAN;
    PetscFunctionReturn(0);
  }
  /* R * mean = the sum itself (no divide-then-multiply rounding); under the null it is Irwin-Hall(R). */
  PetscCall(mc_stats_irwin_hall_cdf(sum, R, p));
  PetscFunctionReturn(0);
}

PetscErrorCode mc_stats_bh(PetscInt n, const PetscReal p[], PetscReal q, PetscInt *n_rejected, PetscReal *threshold,
                           PetscBool rejected[], PetscReal qval[])
{
  PetscInt  *idx = NULL, M = 0, istar = 0;
  PetscReal *ps  = NULL, run_min;

  PetscFunctionBeginUser;
  PetscCheck(n >= 0 && (n == 0 || p), PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Benjamini-Hochberg: bad p-value array of %" PetscInt_FMT " entries", n);
  PetscCheck(q > 0.0 && q < 1.0, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Benjamini-Hochberg: level q = %g is outside (0, 1)", (double)q);
  for (PetscInt i = 0; i < n; ++i) {
    if (PetscIsNanReal(p[i])) continue;
    PetscCheck(p[i] >= 0.0 && p[i] <= 1.0, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Benjamini-Hochberg: p-value %g at index %" PetscInt_FMT " is outside [0, 1]", (double)p[i], i);
  }
  PetscCall(PetscMalloc2(n, &idx, n, &ps));
  for (PetscInt i = 0; i < n; ++i) {
    if (rejected) rejected[i] = PETSC_FALSE;
    if (qval) qval[i] = (PetscReal)NAN;
    if (PetscIsNanReal(p[i])) continue;
    idx[M] = i;
    ps[M]  = p[i];
    ++M;
  }
  /* Ascending p; the order among equal p does not matter: they get equal q-values and the step-up
     rejects all or none of them. */
  PetscCall(PetscSortRealWithArrayInt(M, ps, idx));
  for (PetscInt i = M; i >= 1; --i) {
    if (ps[i - 1] <= (PetscReal)i * q / (PetscReal)M) {
      istar = i;
      break;
    }
  }
  *n_rejected = istar;
  *threshold  = M > 0 ? (PetscReal)istar * q / (PetscReal)M : 0.0;
  if (rejected)
    for (PetscInt i = 0; i < istar; ++i) rejected[idx[i]] = PETSC_TRUE;
  if (qval) {
    /* q_(i) = min over j >= i of p_(j) * (M / j), clipped at 1: scipy's running minimum from the top. */
    run_min = 1.0;
    for (PetscInt i = M; i >= 1; --i) {
      const PetscReal adj = ps[i - 1] * ((PetscReal)M / (PetscReal)i);

      if (adj < run_min) run_min = adj;
      qval[idx[i - 1]] = run_min;
    }
  }
  PetscCall(PetscFree2(idx, ps));
  PetscFunctionReturn(0);
}

PetscErrorCode mc_stats_rank_gof(PetscInt n, const PetscInt ranks[], PetscInt n_random, PetscReal *stat, PetscReal *p)
{
  PetscInt *count = NULL, K;
  PetscReal e, x2 = 0.0;

  PetscFunctionBeginUser;
  PetscCheck(n_random >= 1, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Rank histogram test: n_random = %" PetscInt_FMT " must be >= 1", n_random);
  PetscCheck(n >= 0 && (n == 0 || ranks), PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Rank histogram test: bad rank array of %" PetscInt_FMT " entries", n);
  if (n == 0) {
    *stat = (PetscReal)NAN;
    *p    = (PetscReal)NAN;
    PetscFunctionReturn(0);
  }
  K = n_random + 1;
  for (PetscInt i = 0; i < n; ++i) PetscCheck(ranks[i] >= 1 && ranks[i] <= K, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Rank histogram test: rank %" PetscInt_FMT " at index %" PetscInt_FMT " is outside 1..%" PetscInt_FMT, ranks[i], i, K);
  PetscCall(PetscCalloc1(K, &count));
  for (PetscInt i = 0; i < n; ++i) ++count[ranks[i] - 1];
  e = (PetscReal)n / (PetscReal)K;
  for (PetscInt b = 0; b < K; ++b) x2 += ((PetscReal)count[b] - e) * ((PetscReal)count[b] - e) / e;
  PetscCall(PetscFree(count));
  *stat = x2;
  PetscCall(mc_stats_chi2_sf(x2, (PetscReal)n_random, p));
  PetscFunctionReturn(0);
}
