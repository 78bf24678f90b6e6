/* src/graph/kendall.c: Kendall's tau-b between every pair of units (act_corr = kendall), pair by pair with
   Knight's O(S log S) algorithm: no matrix product gives it. */
#include <math.h>
#include "mc/sys.h"
#include "graph_impl.h"

/* Inversions of y[0..n) (pairs a < b with y[a] > y[b]; equal values are not inversions), sorting y
   ascending by merge sort with the scratch buf. */
static PetscInt64 inversions(PetscInt n, int y[], int buf[])
{
  PetscInt64 inv = 0;

  for (PetscInt w = 1; w < n; w *= 2)
    for (PetscInt lo = 0; lo < n - w; lo += 2 * w) {
      PetscInt mid = lo + w, hi = PetscMin(lo + 2 * w, n), a = lo, b = mid, o = lo;
      while (a < mid && b < hi) {
        if (y[b] < y[a]) {
          inv += mid - a;
          buf[o++] = y[b++];
        } else buf[o++] = y[a++];
      }
      while (a < mid) buf[o++] = y[a++];
      while (b < hi) buf[o++] = y[b++];
      for (PetscInt t = lo; t < hi; ++t) y[t] = buf[t];
    }
  return inv;
}

/* Kendall's tau-b of units i and j, Knight's O(S log S) algorithm: xi holds unit i's ranks in the order
   ord (ascending), yj unit j's ranks; ys and buf are S scratch ints. */
static PetscReal kendall_tau_b(PetscInt S, const int xi[], const PetscInt ord[], const int yj[], int ys[], int buf[])
{
  PetscReal n0 = 0.5 * (PetscReal)S * (PetscReal)(S - 1), n1 = 0, n2 = 0, n3 = 0, swaps, num, den;

  for (PetscInt t = 0; t < S; ++t) ys[t] = yj[ord[t]];
  /* Within each run of tied x: sort y (a tie in x is neither concordant nor discordant), count the ties. */
  for (PetscInt a = 0; a < S;) {
    PetscInt b = a + 1;
    while (b < S && xi[ord[b]] == xi[ord[a]]) ++b;
    if (b - a > 1) {
      n1 += 0.5 * (PetscReal)(b - a) * (PetscReal)(b - a - 1);
      (void)inversions(b - a, ys + a, buf);
      for (PetscInt c = a; c < b;) { /* joint ties */
        PetscInt d = c + 1;
        while (d < b && ys[d] == ys[c]) ++d;
        n3 += 0.5 * (PetscReal)(d - c) * (PetscReal)(d - c - 1);
        c = d;
      }
    }
    a = b;
  }
  swaps = (PetscReal)inversions(S, ys, buf);
  for (PetscInt a = 0; a < S;) { /* ys is sorted now: ties in y */
    PetscInt b = a + 1;
    while (b < S && ys[b] == ys[a]) ++b;
    n2 += 0.5 * (PetscReal)(b - a) * (PetscReal)(b - a - 1);
    a = b;
  }
  num = n0 - n1 - n2 + n3 - 2 * swaps;
  den = PetscSqrtReal((n0 - n1) * (n0 - n2));
  return den > 0 ? num / den : (PetscReal)NAN;
}

PetscErrorCode mc__graph_kendall_rows(MPI_Comm comm, PetscInt N, PetscInt S, PetscInt r0, PetscInt nr, const PetscReal Y[], PetscInt lda, PetscReal G[])
{
  int      *mine, *all, *ys, *buf;
  PetscInt *ord;
  PetscReal *xv;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc2(PetscMax(nr * S, 1), &mine, N * S, &all));
  for (PetscInt i = 0; i < nr; ++i)
    for (PetscInt t = 0; t < S; ++t) mine[i * S + t] = (int)Y[t * lda + i];
  PetscCall(mc_sys_gatherv(comm, -1, mine, nr * S, MPI_INT, all));
  PetscCall(PetscMalloc4(S, &ys, S, &buf, S, &ord, S, &xv));
  for (PetscInt i = 0; i < nr; ++i) {
    const int *xi = all + (size_t)(r0 + i) * S;
    for (PetscInt t = 0; t < S; ++t) {
      ord[t] = t;
      xv[t]  = xi[t];
    }
    PetscCall(PetscSortRealWithPermutation(S, xv, ord));
    for (PetscInt j = 0; j < N; ++j) G[j * lda + i] = kendall_tau_b(S, xi, ord, all + (size_t)j * S, ys, buf);
  }
  PetscCall(PetscLogFlops(2.0 * nr * N * S * PetscLog2Real((PetscReal)S)));
  PetscCall(PetscFree4(ys, buf, ord, xv));
  PetscCall(PetscFree2(mine, all));
  PetscFunctionReturn(0);
}

