/* src/stats/ari.c: agreement of two labelings from their contingency table: the adjusted Rand index (pair
   confusion counts) and normalised mutual information, as scikit-learn 1.2 computes them. */
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

/* The contingency table of a and b (n >= 2) as runs of sorted keys: a's and b's labels compacted to
   0..na-1 and 0..nb-1, their counts, and key[i] = a_i * nb + b_i sorted, so each cell is a run. */
typedef struct {
  PetscInt    n, na, nb, *ca, *cb, *na_cnt, *nb_cnt;
  PetscInt64 *key;
} Table;

static PetscErrorCode table_create(PetscInt n, const PetscInt a[], const PetscInt b[], Table *t)
{
  PetscFunctionBeginUser;
  t->n = n;
  PetscCall(PetscMalloc3(n, &t->ca, n, &t->cb, n, &t->key));
  PetscCall(compact(n, a, t->ca, &t->na));
  PetscCall(compact(n, b, t->cb, &t->nb));
  PetscCall(PetscCalloc2(t->na, &t->na_cnt, t->nb, &t->nb_cnt));
  for (PetscInt i = 0; i < n; ++i) {
    t->na_cnt[t->ca[i]]++;
    t->nb_cnt[t->cb[i]]++;
    t->key[i] = (PetscInt64)t->ca[i] * t->nb + t->cb[i];
  }
  PetscCall(PetscSortInt64(n, t->key));
  PetscFunctionReturn(0);
}

static PetscErrorCode table_destroy(Table *t)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree2(t->na_cnt, t->nb_cnt));
  PetscCall(PetscFree3(t->ca, t->cb, t->key));
  PetscFunctionReturn(0);
}

/* The length of the run of equal keys starting at i. */
static PetscInt run_length(const Table *t, PetscInt i)
{
  PetscInt j = i;
  while (j < t->n && t->key[j] == t->key[i]) j++;
  return j - i;
}

PetscErrorCode mc_stats_ari(PetscInt n, const PetscInt a[], const PetscInt b[], PetscReal *ari)
{
  Table     t;
  PetscReal sum_ij = 0, sum_a = 0, sum_b = 0, tot, tp, fp, fn, tn;

  PetscFunctionBeginUser;
  if (n <= 1) {
    *ari = 1;
    PetscFunctionReturn(0);
  }
  PetscCall(table_create(n, a, b, &t));
  for (PetscInt i = 0, r; i < n; i += r) {
    r = run_length(&t, i);
    sum_ij += pairs((PetscReal)r);
  }
  for (PetscInt i = 0; i < t.na; ++i) sum_a += pairs((PetscReal)t.na_cnt[i]);
  for (PetscInt i = 0; i < t.nb; ++i) sum_b += pairs((PetscReal)t.nb_cnt[i]);
  tot = pairs((PetscReal)n);
  /* Pair confusion: tp = same/same, fp = b-same only, fn = a-same only, tn = rest. */
  tp = sum_ij;
  fn = sum_a - sum_ij;
  fp = sum_b - sum_ij;
  tn = tot - tp - fn - fp;
  if (fn == 0 && fp == 0) *ari = 1;
  else *ari = 2.0 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn));
  PetscCall(table_destroy(&t));
  PetscFunctionReturn(0);
}

PetscErrorCode mc_stats_nmi(PetscInt n, const PetscInt a[], const PetscInt b[], PetscReal *nmi)
{
  Table     t;
  PetscReal mi = 0, ha = 0, hb = 0, N = (PetscReal)n;

  PetscFunctionBeginUser;
  if (n <= 1) {
    *nmi = 1;
    PetscFunctionReturn(0);
  }
  PetscCall(table_create(n, a, b, &t));
  for (PetscInt i = 0, r; i < n; i += r) {
    PetscReal nij;
    PetscInt  x = (PetscInt)(t.key[i] / t.nb), y = (PetscInt)(t.key[i] % t.nb);
    r   = run_length(&t, i);
    nij = (PetscReal)r;
    mi += nij / N * PetscLogReal(N * nij / ((PetscReal)t.na_cnt[x] * (PetscReal)t.nb_cnt[y]));
  }
  for (PetscInt i = 0; i < t.na; ++i) ha -= t.na_cnt[i] / N * PetscLogReal(t.na_cnt[i] / N);
  for (PetscInt i = 0; i < t.nb; ++i) hb -= t.nb_cnt[i] / N * PetscLogReal(t.nb_cnt[i] / N);
  /* Both one cluster: identical, as scikit-learn says (0 / 0 otherwise). */
  *nmi = (t.na == 1 && t.nb == 1) ? 1 : ((ha + hb) > 0 ? PetscMax(mi, 0) / (0.5 * (ha + hb)) : 1);
  PetscCall(table_destroy(&t));
  PetscFunctionReturn(0);
}
