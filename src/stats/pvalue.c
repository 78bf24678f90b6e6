/* src/stats/pvalue.c: one permutation test - discrete p-value, z-score and effect sizes (docs/method.md section 7, docs/importance.md). */
#include "mc/pvalue.h"

#include <math.h>

/* Mean of the non-NaN entries of x[]; NaN if none. Infinite entries are kept (they are real values). */
static PetscReal mean_skip_nan(PetscInt n, const PetscReal x[], PetscInt *n_used)
{
  PetscReal s = 0.0;
  PetscInt  k = 0;

  for (PetscInt i = 0; i < n; ++i) {
    if (PetscIsNanReal(x[i])) continue;
    s += x[i];
    ++k;
  }
  if (n_used) *n_used = k;
  return k > 0 ? s / (PetscReal)k : (PetscReal)NAN;
}

const char *mc_stats_ties_name(MCTies ties)
{
  switch (ties) {
  case MC_TIES_INCLUSIVE:
    return "inclusive";
  case MC_TIES_STRICT:
    return "strict";
  }
  return "unknown";
}

PetscErrorCode mc_stats_perm_pvalue(PetscReal t_true, PetscInt n_null, const PetscReal null[], MCTail tail, MCTies ties,
                                    PetscReal *p, PetscInt *n_used)
{
  PetscInt n_ext = 0, n_ok = 0;

  PetscFunctionBeginUser;
  PetscCheck(n_null >= 0, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Permutation p-value: n_null = %" PetscInt_FMT " is negative", n_null);
  PetscCheck(n_null == 0 || null, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Permutation p-value: null array is NULL with n_null = %" PetscInt_FMT, n_null);
  PetscCheck(tail == MC_TAIL_LOWER || tail == MC_TAIL_UPPER, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Permutation p-value: unknown tail %d", (int)tail);
  PetscCheck(ties == MC_TIES_INCLUSIVE || ties == MC_TIES_STRICT, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Permutation p-value: unknown ties mode %d", (int)ties);
  for (PetscInt i = 0; i < n_null; ++i) {
    const PetscReal v = null[i];
    PetscBool       ext;

    /* A NaN draw (undefined statistic) is not a draw: docs/importance.md skips it. */
    if (PetscIsNanReal(v)) continue;
    ++n_ok;
    if (tail == MC_TAIL_LOWER) ext = (ties == MC_TIES_INCLUSIVE) ? (PetscBool)(v <= t_true) : (PetscBool)(v < t_true);
    else ext = (ties == MC_TIES_INCLUSIVE) ? (PetscBool)(v >= t_true) : (PetscBool)(v > t_true);
    if (ext) ++n_ext;
  }
  if (n_used) *n_used = n_ok;
  if (PetscIsNanReal(t_true)) *p = (PetscReal)NAN;
  else *p = (PetscReal)(n_ext + 1) / (PetscReal)(n_ok + 1);
  PetscFunctionReturn(0);
}

PetscErrorCode mc_stats_zscore(PetscReal t_true, PetscInt n_null, const PetscReal null[], PetscReal *z, PetscReal *mean,
                               PetscReal *std)
{
  PetscReal mu, ss = 0.0, sd;
  PetscInt  k;

  PetscFunctionBeginUser;
  PetscCheck(n_null >= 0, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "z-score: n_null = %" PetscInt_FMT " is negative", n_null);
  PetscCheck(n_null == 0 || null, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "z-score: null array is NULL with n_null = %" PetscInt_FMT, n_null);
  mu = mean_skip_nan(n_null, null, &k);
  /* Two passes (mean, then squared deviations): exact zero std for equal values, as numpy.std. */
  for (PetscInt i = 0; i < n_null; ++i)
    if (!PetscIsNanReal(null[i])) ss += (null[i] - mu) * (null[i] - mu);
  sd = k > 0 ? PetscSqrtReal(ss / (PetscReal)k) : (PetscReal)NAN;
  if (mean) *mean = mu;
  if (std) *std = sd;
  if (k == 0 || !(sd > 0.0) || PetscIsNanReal(t_true)) *z = (PetscReal)NAN;
  else *z = (t_true - mu) / sd;
  PetscFunctionReturn(0);
}

PetscErrorCode mc_stats_effect_mean(PetscReal dm_true, PetscInt n_rand, const PetscReal dm_rand[], PetscReal *e)
{
  PetscReal bar;
  PetscInt  k;

  PetscFunctionBeginUser;
  PetscCheck(n_rand >= 0 && (n_rand == 0 || dm_rand), PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Effect (mean): bad random array of %" PetscInt_FMT " entries", n_rand);
  bar = mean_skip_nan(n_rand, dm_rand, &k);
  if (k == 0 || PetscIsNanReal(dm_true)) *e = (PetscReal)NAN;
  else if (dm_true < 0.0 && bar < 0.0) *e = dm_true / (dm_true + bar); /* both negative: no zero denominator */
  else *e = 0.0;
  PetscFunctionReturn(0);
}

PetscErrorCode mc_stats_effect_range(PetscReal r_true, PetscInt n_rand, const PetscReal r_rand[], PetscReal *e)
{
  PetscReal bar;
  PetscInt  k;

  PetscFunctionBeginUser;
  PetscCheck(n_rand >= 0 && (n_rand == 0 || r_rand), PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Effect (range): bad random array of %" PetscInt_FMT " entries", n_rand);
  bar = mean_skip_nan(n_rand, r_rand, &k);
  if (k == 0 || PetscIsNanReal(r_true) || r_true + bar == 0.0) *e = (PetscReal)NAN;
  else *e = r_true / (r_true + bar);
  PetscFunctionReturn(0);
}

PetscErrorCode mc_stats_effect_ratio(PetscReal t_true, PetscInt n_rand, const PetscReal rand[], PetscReal *e)
{
  PetscReal s = 0.0;
  PetscInt  k = 0;

  PetscFunctionBeginUser;
  PetscCheck(n_rand >= 0 && (n_rand == 0 || rand), PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Effect (ratio): bad random array of %" PetscInt_FMT " entries", n_rand);
  for (PetscInt i = 0; i < n_rand; ++i) {
    const PetscReal d = t_true + rand[i];

    if (PetscIsNanReal(rand[i]) || d == 0.0) continue;
    s += t_true / d;
    ++k;
  }
  *e = (k == 0 || PetscIsNanReal(t_true)) ? (PetscReal)NAN : 2.0 * s / (PetscReal)k;
  PetscFunctionReturn(0);
}

PetscErrorCode mc_stats_effect_entropy(PetscReal h_true, PetscInt n_rand, const PetscReal h_rand[], PetscReal *e)
{
  PetscReal bar;
  PetscInt  k;

  PetscFunctionBeginUser;
  PetscCheck(n_rand >= 0 && (n_rand == 0 || h_rand), PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Effect (entropy): bad random array of %" PetscInt_FMT " entries", n_rand);
  bar = mean_skip_nan(n_rand, h_rand, &k);
  if (k == 0 || PetscIsNanReal(h_true)) *e = (PetscReal)NAN;
  else if (h_true == 0.0) *e = bar > 0.0 ? (PetscReal)INFINITY : (PetscReal)NAN; /* the coherence effect: +Inf if H_true = 0 */
  else *e = bar / h_true;
  PetscFunctionReturn(0);
}

PetscErrorCode mc_stats_mean_sem(PetscInt n, const PetscReal x[], PetscReal *mean, PetscReal *sem, PetscInt *n_used)
{
  PetscReal mu, ss = 0.0;
  PetscInt  k;

  PetscFunctionBeginUser;
  PetscCheck(n >= 0 && (n == 0 || x), PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Mean/SEM: bad array of %" PetscInt_FMT " entries", n);
  mu = mean_skip_nan(n, x, &k);
  for (PetscInt i = 0; i < n; ++i)
    if (!PetscIsNanReal(x[i])) ss += (x[i] - mu) * (x[i] - mu);
  *mean = mu;
  *sem  = k >= 2 ? PetscSqrtReal(ss / (PetscReal)(k - 1)) / PetscSqrtReal((PetscReal)k) : (PetscReal)NAN;
  if (n_used) *n_used = k;
  PetscFunctionReturn(0);
}
