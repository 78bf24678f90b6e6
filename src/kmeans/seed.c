/* src/kmeans/seed.c: greedy k-means++ seeding over distributed rows, independent of the rank count, for a
   batch of restarts at once. */
#include "kmeans_impl.h"

PetscErrorCode mc__kmeans_fetch_rows(const MCKMeansCtx *ctx, PetscInt n, const PetscInt idx[], PetscReal out[])
{
  PetscMPIInt cnt;

  PetscFunctionBeginUser;
  PetscCall(PetscArrayzero(out, n * ctx->dim));
  for (PetscInt t = 0; t < n; ++t) {
    PetscInt i = idx[t] - ctx->rstart;
    if (idx[t] >= 0 && i >= 0 && i < ctx->n_local) PetscCall(PetscArraycpy(out + t * ctx->dim, ctx->U + i * ctx->dim, ctx->dim));
  }
  /* One owner per row and zeros elsewhere: the sum reproduces the owner's values exactly. */
  PetscCall(PetscMPIIntCast(n * ctx->dim, &cnt));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, out, cnt, MPIU_REAL, MPI_SUM, ctx->comm));
  PetscFunctionReturn(0);
}

/* D(x)^2 of every local row to the single centre c. */
static void dist_to_center(const MCKMeansCtx *ctx, const PetscReal *c, PetscReal d[])
{
  const PetscInt dim = ctx->dim, n = ctx->n_local;
  PetscInt       i   = 0;

  for (; i + 4 <= n; i += 4) {
    const PetscReal *x = ctx->U + i * dim;
    mc__kmeans_dist2_p4(dim, x, x + dim, x + 2 * dim, x + 3 * dim, c, d + i);
  }
  for (; i < n; ++i) d[i] = mc__kmeans_dist2(dim, ctx->U + i * dim, c);
}

/* Running fixed-point sums of D(x)^2 (cum[n-1] is the local total). */
static void prefix_sums(const MCKMeansCtx *ctx, const PetscReal dist[], int64_t cum[])
{
  int64_t acc = 0;
  for (PetscInt i = 0; i < ctx->n_local; ++i) {
    acc += mc__kmeans_qd(ctx, dist[i]);
    cum[i] = acc;
  }
}

/* The trial D(x)^2 = min(D(x)^2, |x - cc|^2) of candidate cc for every local row, and its fixed-point sum.
   Row x is nearest to chosen centre near[x]; when |cc - centre(near[x])| >= 2 D(x) (with the slack), the
   triangle inequality gives |x - cc| >= D(x), so the trial value is D(x)^2 without computing anything.
   sroot[x] is 2 D(x) rounded up; cdist[m] (work, nc entries) receives |cc - centre m| rounded down;
   work[] has room for n_local indices. */
static int64_t candidate_potential(const MCKMeansCtx *ctx, const MCKMeansRestart *R, PetscInt nc, const PetscReal *cc, const PetscReal sroot[],
                                   PetscReal cdist[], PetscInt work[], PetscReal tr[])
{
  const PetscInt   dim = ctx->dim, n = ctx->n_local;
  const PetscReal *cl  = R->dist;
  int64_t          s   = 0;

  PetscInt         nw = 0;

  for (PetscInt m = 0; m < nc; ++m) cdist[m] = PetscSqrtReal(mc__kmeans_dist2(dim, cc, R->centers + m * dim)) * (1 - MC_KMEANS_SLACK);
  /* Pruned rows first; the others are listed in work[] and done four at a time. min(D(x)^2, d) equals the
     capped distance of mc__kmeans_dist2_capped whichever way d is summed past the cap. */
  for (PetscInt i = 0; i < n; ++i) {
    if (cdist[R->labels[i]] > sroot[i]) tr[i] = cl[i];
    else work[nw++] = i;
  }
  {
    PetscInt q = 0;
    for (; q + 4 <= nw; q += 4) {
      PetscReal d[4];
      mc__kmeans_dist2_p4(dim, ctx->U + work[q] * dim, ctx->U + work[q + 1] * dim, ctx->U + work[q + 2] * dim, ctx->U + work[q + 3] * dim, cc, d);
      for (PetscInt r = 0; r < 4; ++r) tr[work[q + r]] = PetscMin(d[r], cl[work[q + r]]);
    }
    for (; q < nw; ++q) tr[work[q]] = PetscMin(mc__kmeans_dist2(dim, ctx->U + work[q] * dim, cc), cl[work[q]]);
  }
  for (PetscInt i = 0; i < n; ++i) s += mc__kmeans_qd(ctx, tr[i]);
  return s;
}

PetscErrorCode mc__kmeans_seed(const MCKMeansCtx *ctx, PetscInt nb, MCKMeansRestart rs[])
{
  const PetscInt dim = ctx->dim, n = ctx->n_local, k = ctx->k, T = mc__kmeans_n_trials(k), row = dim + 1;
  PetscInt      *first;
  int64_t       *mysum, *allsum, *pot;
  PetscReal     *cand, *trial, *c0, *cdist;
  PetscInt      *work;
  PetscMPIInt    cnt;

  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(MC_EVENTS[MC_EVENT_KMEANS_SEED], 0, 0, 0, 0));
  PetscCall(PetscMalloc4(nb, &first, nb, &mysum, nb * ctx->size, &allsum, nb * T, &pot));
  PetscCall(PetscMalloc5(nb * T * row, &cand, nb * T * n, &trial, nb * dim, &c0, k, &cdist, n, &work));
  /* First centre of each restart: uniform over the global rows. */
  for (PetscInt b = 0; b < nb; ++b) first[b] = (PetscInt)mc_rng_below(&rs[b].rng, (uint64_t)ctx->n_global);
  PetscCall(mc__kmeans_fetch_rows(ctx, nb, first, c0));
  for (PetscInt b = 0; b < nb; ++b) {
    PetscCall(PetscArraycpy(rs[b].centers, c0 + b * dim, dim));
    dist_to_center(ctx, rs[b].centers, rs[b].dist);
    for (PetscInt i = 0; i < n; ++i) rs[b].labels[i] = 0;
  }
  for (PetscInt c = 1; c < k; ++c) {
    /* Candidates drawn with probability proportional to D(x)^2, as integers: a uniform draw in [0, total)
       falls into the interval of exactly one row in global order, whichever rank holds it. */
    for (PetscInt b = 0; b < nb; ++b) {
      prefix_sums(ctx, rs[b].dist, rs[b].cum);
      mysum[b] = n > 0 ? rs[b].cum[n - 1] : 0;
      /* 2 D(x), rounded up: the pruning threshold of candidate_potential (kept in ub while seeding). */
      for (PetscInt i = 0; i < n; ++i) rs[b].ub[i] = 2 * PetscSqrtReal(rs[b].dist[i]) * (1 + MC_KMEANS_SLACK);
    }
    PetscCall(PetscMPIIntCast(nb, &cnt));
    PetscCallMPI(MPI_Allgather(mysum, cnt, MPI_INT64_T, allsum, cnt, MPI_INT64_T, ctx->comm));
    PetscCall(PetscArrayzero(cand, nb * T * row));
    for (PetscInt b = 0; b < nb; ++b) {
      int64_t off = 0, tot = 0;
      for (PetscMPIInt p = 0; p < ctx->size; ++p) {
        if (p < ctx->rank) off += allsum[p * nb + b];
        tot += allsum[p * nb + b];
      }
      for (PetscInt t = 0; t < T; ++t) {
        PetscReal *slot = cand + (b * T + t) * row;
        PetscInt   li   = -1;
        if (tot <= 0) {
          /* Every row coincides with a centre: take row 0, as scikit-learn's searchsorted does. */
          if (ctx->rstart == 0 && n > 0) li = 0;
        } else {
          int64_t draw = (int64_t)mc_rng_below(&rs[b].rng, (uint64_t)tot);
          if (draw >= off && draw < off + mysum[b]) {
            /* The first row whose running sum exceeds the draw. */
            int64_t  r  = draw - off;
            PetscInt lo = 0, hi = n - 1;
            while (lo < hi) {
              PetscInt mid = lo + (hi - lo) / 2;
              if (r < rs[b].cum[mid]) hi = mid;
              else lo = mid + 1;
            }
            li = lo;
          }
        }
        /* The owner publishes index + 1 and the row; others add zeros, so the sum is exact. */
        if (li >= 0) {
          slot[0] = (PetscReal)(ctx->rstart + li + 1);
          PetscCall(PetscArraycpy(slot + 1, ctx->U + li * dim, dim));
        }
      }
    }
    PetscCall(PetscMPIIntCast(nb * T * row, &cnt));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, cand, cnt, MPIU_REAL, MPI_SUM, ctx->comm));
    /* Potential of each candidate: sum over rows of min(D(x)^2, |x - candidate|^2). The trial distances
       are kept, so the winner's become the new D(x)^2 without another pass. */
    for (PetscInt b = 0; b < nb; ++b)
      for (PetscInt t = 0; t < T; ++t)
        pot[b * T + t] = candidate_potential(ctx, &rs[b], c, cand + (b * T + t) * row + 1, rs[b].ub, cdist, work, trial + (b * T + t) * n);
    PetscCall(PetscMPIIntCast(nb * T, &cnt));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, pot, cnt, MPI_INT64_T, MPI_SUM, ctx->comm));
    for (PetscInt b = 0; b < nb; ++b) {
      PetscInt         best = 0;
      const PetscReal *tr;
      for (PetscInt t = 1; t < T; ++t)
        if (pot[b * T + t] < pot[b * T + best]) best = t;
      PetscCall(PetscArraycpy(rs[b].centers + c * dim, cand + (b * T + best) * row + 1, dim));
      tr = trial + (b * T + best) * n;
      for (PetscInt i = 0; i < n; ++i) {
        if (tr[i] < rs[b].dist[i]) rs[b].labels[i] = c;
        rs[b].dist[i] = tr[i];
      }
    }
  }
  PetscCall(PetscFree4(first, mysum, allsum, pot));
  PetscCall(PetscFree5(cand, trial, c0, cdist, work));
  PetscCall(PetscLogEventEnd(MC_EVENTS[MC_EVENT_KMEANS_SEED], 0, 0, 0, 0));
  PetscFunctionReturn(0);
}
