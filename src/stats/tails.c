/* src/stats/tails.c: distribution tails written out by hand (no GSL, ECOSYSTEM.md 10): chi-square with even
   dof in closed form, the regularized upper incomplete gamma for any dof, the normal tail and the
   Irwin-Hall CDF. Each is checked against SciPy in tests/stats/. */
#include "mc/pvalue.h"

#include <float.h>
#include <math.h>

PetscErrorCode mc_stats_chi2_sf_even(PetscReal x, PetscInt m, PetscReal *sf)
{
  PetscReal y, log_peak, s, r;
  PetscInt  jp;

  PetscFunctionBeginUser;
  PetscCheck(m >= 1, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Chi-square sf: half the degrees of freedom must be >= 1, got m = %" PetscInt_FMT, m);
  if (PetscIsNanReal(x)) {
    *sf = (PetscReal)NAN;
    PetscFunctionReturn(0);
  }
  PetscCheck(x >= 0.0, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Chi-square sf: statistic %g is negative", (double)x);
  if (x == 0.0) {
    *sf = 1.0;
    PetscFunctionReturn(0);
  }
  if (PetscIsInfReal(x)) {
    *sf = 0.0;
    PetscFunctionReturn(0);
  }
  /* sf = sum_{j<m} t_j with t_j = exp(-y) y^j / j!, y = x/2 (Poisson(y) cdf at m-1). The terms increase
     up to j ~ y, so sum the ratios t_j / t_jp around the largest included term jp (each step multiplies by
     j/y or y/j, all positive, no cancellation) and keep only log t_jp in log space: no overflow of y^j or
     j!, and the tiny results of large x underflow gracefully to 0. */
  y  = 0.5 * x;
  jp = (PetscInt)PetscMin((PetscReal)(m - 1), PetscFloorReal(y));
  log_peak = -y + (PetscReal)jp * PetscLogReal(y) - lgamma((double)jp + 1.0);
  s = 1.0;
  r = 1.0;
  for (PetscInt j = jp; j >= 1; --j) { /* downwards: t_{j-1} = t_j * j / y */
    r *= (PetscReal)j / y;
    s += r;
    if (r < s * 1e-18) break;
  }
  r = 1.0;
  for (PetscInt j = jp + 1; j <= m - 1; ++j) { /* upwards: t_j = t_{j-1} * y / j */
    r *= y / (PetscReal)j;
    s += r;
    if (r < s * 1e-18) break;
  }
  *sf = PetscExpReal(log_peak + PetscLogReal(s));
  if (*sf > 1.0) *sf = 1.0; /* rounding only */
  PetscFunctionReturn(0);
}

PetscErrorCode mc_stats_gammaincc(PetscReal a, PetscReal x, PetscReal *q)
{
  const PetscInt  max_iter = 100000;
  const PetscReal eps = 1e-16, tiny = 1e-300;
  PetscReal       log_pre;
  PetscInt        it;

  PetscFunctionBeginUser;
  if (PetscIsNanReal(a) || PetscIsNanReal(x)) {
    *q = (PetscReal)NAN;
    PetscFunctionReturn(0);
  }
  PetscCheck(a > 0.0 && !PetscIsInfReal(a), PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Incomplete gamma: shape a = %g must be positive and finite", (double)a);
  PetscCheck(x >= 0.0, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Incomplete gamma: x = %g is negative", (double)x);
  if (x == 0.0) {
    *q = 1.0;
    PetscFunctionReturn(0);
  }
  if (PetscIsInfReal(x)) {
    *q = 0.0;
    PetscFunctionReturn(0);
  }
  /* Common factor x^a e^-x / Gamma(a), in log space. */
  log_pre = -x + a * PetscLogReal(x) - lgamma(a);
  if (x < a + 1.0) {
    /* P(a, x) = x^a e^-x / Gamma(a) * sum_n x^n / (a (a+1) ... (a+n)); terms shrink once a+n > x. */
    PetscReal term = 1.0 / a, sum = term, ap = a, pl;

    for (it = 0; it < max_iter; ++it) {
      ap += 1.0;
      term *= x / ap;
      sum += term;
      if (term < sum * eps) break;
    }
    PetscCheck(it < max_iter, PETSC_COMM_SELF, PETSC_ERR_NOT_CONVERGED, "Incomplete gamma: series for a = %g, x = %g did not converge", (double)a, (double)x);
    pl = PetscExpReal(log_pre) * sum;
    *q = pl >= 1.0 ? 0.0 : 1.0 - pl;
  } else {
    /* Gamma(a, x) = x^a e^-x / (x + 1 - a - 1(1-a)/(x + 3 - a - 2(2-a)/(x + 5 - a - ...))), evaluated
       front to back by the modified Lentz method (c and d kept away from 0). */
    PetscReal b = x + 1.0 - a, c = 1.0 / tiny, d = 1.0 / b, h = d;

    for (it = 1; it < max_iter; ++it) {
      const PetscReal an = -(PetscReal)it * ((PetscReal)it - a);
      PetscReal       delta;

      b += 2.0;
      d = an * d + b;
      if (PetscAbsReal(d) < tiny) d = tiny;
      c = b + an / c;
      if (PetscAbsReal(c) < tiny) c = tiny;
      d     = 1.0 / d;
      delta = d * c;
      h *= delta;
      if (PetscAbsReal(delta - 1.0) < eps) break;
    }
    PetscCheck(it < max_iter, PETSC_COMM_SELF, PETSC_ERR_NOT_CONVERGED, "Incomplete gamma: continued fraction for a = %g, x = %g did not converge", (double)a, (double)x);
    *q = PetscExpReal(log_pre) * h;
  }
  PetscFunctionReturn(0);
}

PetscErrorCode mc_stats_chi2_sf(PetscReal x, PetscReal dof, PetscReal *sf)
{
  PetscFunctionBeginUser;
  PetscCheck(dof > 0.0, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Chi-square sf: degrees of freedom %g must be positive", (double)dof);
  if (PetscIsNanReal(x)) {
    *sf = (PetscReal)NAN;
    PetscFunctionReturn(0);
  }
  PetscCheck(x >= 0.0, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Chi-square sf: statistic %g is negative", (double)x);
  PetscCall(mc_stats_gammaincc(0.5 * dof, 0.5 * x, sf));
  PetscFunctionReturn(0);
}

PetscErrorCode mc_stats_normal_sf(PetscReal z, PetscReal *sf)
{
  PetscFunctionBeginUser;
  *sf = 0.5 * erfc(z / PETSC_SQRT2);
  PetscFunctionReturn(0);
}

PetscErrorCode mc_stats_irwin_hall_cdf(PetscReal x, PetscInt R, PetscReal *cdf)
{
  PetscBool   flip;
  PetscReal   y;
  long double sum = 0.0L, abs_sum = 0.0L, binom = 1.0L, fact = 1.0L, rel_err;
  PetscInt    jmax;

  PetscFunctionBeginUser;
  PetscCheck(R >= 1 && R <= MC_IRWIN_HALL_MAX_R, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "Irwin-Hall CDF: R = %" PetscInt_FMT " summands is outside the supported range 1..%d", R, MC_IRWIN_HALL_MAX_R);
  if (PetscIsNanReal(x)) {
    *cdf = (PetscReal)NAN;
    PetscFunctionReturn(0);
  }
  if (x <= 0.0) {
    *cdf = 0.0;
    PetscFunctionReturn(0);
  }
  if (x >= (PetscReal)R) {
    *cdf = 1.0;
    PetscFunctionReturn(0);
  }
  /* F(x) = 1 - F(R - x): sum for the smaller argument, so at most R/2 + 1 alternating terms, a result
     >= what we subtract from, and an exact tail for small x (the Bates use case: x = R * mean p small).
     R - x is exact in double for x >= R/2 (Sterbenz). */
  flip = (PetscBool)(x > 0.5 * (PetscReal)R);
  y    = flip ? (PetscReal)R - x : x;
  jmax = (PetscInt)PetscFloorReal(y);
  for (PetscInt j = 0; j <= jmax; ++j) {
    const long double t = binom * powl((long double)y - (long double)j, (long double)R);

    sum += (j % 2 == 0) ? t : -t;
    abs_sum += t;
    binom = binom * (long double)(R - j) / (long double)(j + 1); /* C(R, j+1), exact below 2^64 */
  }
  for (PetscInt i = 2; i <= R; ++i) fact *= (long double)i;
  PetscCheck(sum > 0.0L, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "Irwin-Hall CDF: cancellation lost all digits at x = %g, R = %" PetscInt_FMT, (double)x, R);
  /* Each term carries a few long-double roundings; the sum magnifies them by abs_sum / sum. */
  rel_err = abs_sum / sum * (long double)(R + 2) * LDBL_EPSILON;
  PetscCheck(rel_err <= 1e-11L, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "Irwin-Hall CDF: x = %g, R = %" PetscInt_FMT " needs more precision than long double gives (estimated relative error %g)", (double)x, R, (double)rel_err);
  {
    const PetscReal f = (PetscReal)(sum / fact);

    *cdf = flip ? 1.0 - f : f;
  }
  PetscFunctionReturn(0);
}
