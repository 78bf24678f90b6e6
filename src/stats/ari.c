/* src/stats/ari.c: adjusted Rand index from the pair-confusion counts (as scikit-learn 1.2). */
#include "mc/stats.h"

/* Labels compacted to 0..n_distinct-1 by sorting a copy. */
static PetscErrorCode compact(PetscInt n, const PetscInt in[], PetscInt out[], PetscInt *n_distinct)
{
  PetscInt *s, m;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(n, &s));
  PetscCall(PetscArraycpy(s, in, n));
  m = n;
  PetscCall(PetscSortRemoveDupsInt(&m, s));
  for (PetscInt i = 0; i < n; ++i) PetscCall(PetscFindInt(in[i], m, s, &out[i]));
  *n_distinct = m;
  PetscCall(PetscFree(s));
  PetscFunctionReturn(0);
}

static PetscReal pairs(PetscReal x)
{
  return x * (x - 1) / 2;
}

PetscErrorCode mc_stats_ari(PetscInt n, const PetscInt a[], const PetscInt b[], PetscReal *ari)
{
  PetscInt   *ca, *cb, na, nb, *na_cnt, *nb_cnt;
  PetscInt64 *key;
  PetscReal   sum_ij = 0, sum_a = 0, sum_b = 0, tot, tp, fp, fn, tn;

  PetscFunctionBeginUser;
  if (n <= 1) {
    *ari = 1;
    PetscFunctionReturn(0);
  }
  PetscCall(PetscMalloc3(n, &ca, n, &cb, n, &key));
  PetscCall(compact(n, a, ca, &na));
  PetscCall(compact(n, b, cb, &nb));
  PetscCall(PetscCalloc2(na, &na_cnt, nb, &nb_cnt));
  for (PetscInt i = 0; i < n; ++i) {
    na_cnt[ca[i]]++;
    nb_cnt[cb[i]]++;
    key[i] = (PetscInt64)ca[i] * nb + cb[i];
  }
  /* Contingency cells as runs of the sorted (a, b) keys: no na x nb table. */
  PetscCall(PetscSortInt64(n, key));
  for (PetscInt i = 0; i < n;) {
    PetscInt j = i;
    while (j < n && key[j] == key[i]) j++;
    sum_ij += pairs((PetscReal)(j - i));
    i = j;
  }
  for (PetscInt i = 0; i < na; ++i) sum_a += pairs((PetscReal)na_cnt[i]);
  for (PetscInt i = 0; i < nb; ++i) sum_b += pairs((PetscReal)nb_cnt[i]);
  tot = pairs((PetscReal)n);
  /* Pair confusion: tp = same/same, fp = b-same only, fn = a-same only, tn = rest. */
  tp = sum_ij;
  fn = sum_a - sum_ij;
  fp = sum_b - sum_ij;
  tn = tot - tp - fn - fp;
  if (fn == 0 && fp == 0) *ari = 1;
  else *ari = 2.0 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn));
  PetscCall(PetscFree2(na_cnt, nb_cnt));
  PetscCall(PetscFree3(ca, cb, key));
  PetscFunctionReturn(0);
}

PetscErrorCode mc_stats_nmi(PetscInt n, const PetscInt a[], const PetscInt b[], PetscReal *nmi)
{
  PetscInt   *ca, *cb, na, nb, *na_cnt, *nb_cnt;
  PetscInt64 *key;
  PetscReal   mi = 0, ha = 0, hb = 0, N = (PetscReal)n;

  PetscFunctionBeginUser;
  if (n <= 1) {
    *nmi = 1;
    PetscFunctionReturn(0);
  }
  PetscCall(PetscMalloc3(n, &ca, n, &cb, n, &key));
  PetscCall(compact(n, a, ca, &na));
  PetscCall(compact(n, b, cb, &nb));
  if (na == 1 && nb == 1) {
    *nmi = 1; /* both one cluster: identical, as scikit-learn says */
    PetscCall(PetscFree3(ca, cb, key));
    PetscFunctionReturn(0);
  }
  PetscCall(PetscCalloc2(na, &na_cnt, nb, &nb_cnt));
  for (PetscInt i = 0; i < n; ++i) {
    na_cnt[ca[i]]++;
    nb_cnt[cb[i]]++;
    key[i] = (PetscInt64)ca[i] * nb + cb[i];
  }
  PetscCall(PetscSortInt64(n, key));
  for (PetscInt i = 0; i < n;) {
    PetscInt  j = i, x, y;
    PetscReal nij;
    while (j < n && key[j] == key[i]) j++;
    nij = (PetscReal)(j - i);
    x   = (PetscInt)(key[i] / nb);
    y   = (PetscInt)(key[i] % nb);
    mi += nij / N * PetscLogReal(N * nij / ((PetscReal)na_cnt[x] * (PetscReal)nb_cnt[y]));
    i = j;
  }
  for (PetscInt i = 0; i < na; ++i) ha -= na_cnt[i] / N * PetscLogReal(na_cnt[i] / N);
  for (PetscInt i = 0; i < nb; ++i) hb -= nb_cnt[i] / N * PetscLogReal(nb_cnt[i] / N);
  *nmi = (ha + hb) > 0 ? PetscMax(mi, 0) / (0.5 * (ha + hb)) : 1;
  PetscCall(PetscFree2(na_cnt, nb_cnt));
  PetscCall(PetscFree3(ca, cb, key));
  PetscFunctionReturn(0);
}
