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

PetscErrorCode mc__kmeans_seed(const MCKMeansCtx *ctx, PetscInt nb, MCKMeansRestart rs[])
{
  const PetscInt dim = ctx->dim, n = ctx->n_local, k = ctx->k, T = mc__kmeans_n_trials(k), row = dim + 1;
  PetscInt      *first;
  int64_t       *mysum, *allsum, *pot;
  PetscReal     *cand, *trial, *c0;
  PetscMPIInt    cnt;

  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(MC_EVENTS[MC_EVENT_KMEANS_SEED], 0, 0, 0, 0));
  PetscCall(PetscMalloc4(nb, &first, nb, &mysum, nb * ctx->size, &allsum, nb * T, &pot));
  PetscCall(PetscMalloc3(nb * T * row, &cand, nb * T * n, &trial, nb * dim, &c0));
  /* First centre of each restart: uniform over the global rows. */
  for (PetscInt b = 0; b < nb; ++b) first[b] = (PetscInt)mc_rng_below(&rs[b].rng, (uint64_t)ctx->n_global);
  PetscCall(mc__kmeans_fetch_rows(ctx, nb, first, c0));
  for (PetscInt b = 0; b < nb; ++b) {
    PetscCall(PetscArraycpy(rs[b].centers, c0 + b * dim, dim));
    for (PetscInt i = 0; i < n; ++i) rs[b].dist[i] = mc__kmeans_dist2(dim, ctx->U + i * dim, rs[b].centers);
  }
  for (PetscInt c = 1; c < k; ++c) {
    /* Candidates drawn with probability proportional to D(x)^2, as integers: a uniform draw in [0, total)
       falls into the interval of exactly one row in global order, whichever rank holds it. */
    for (PetscInt b = 0; b < nb; ++b) {
      mysum[b] = 0;
      for (PetscInt i = 0; i < n; ++i) mysum[b] += mc__kmeans_qd(ctx, rs[b].dist[i]);
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
            int64_t acc = off;
            for (PetscInt i = 0; i < n; ++i) {
              acc += mc__kmeans_qd(ctx, rs[b].dist[i]);
              if (draw < acc) {
                li = i;
                break;
              }
            }
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
    /* Potential of each candidate: sum over rows of min(D(x)^2, |x - candidate|^2). The capped distances
       are kept, so the winner's become the new D(x)^2 without another pass. */
    PetscCall(PetscArrayzero(pot, nb * T));
    for (PetscInt b = 0; b < nb; ++b)
      for (PetscInt t = 0; t < T; ++t) {
        const PetscReal *cc = cand + (b * T + t) * row + 1;
        PetscReal       *tr = trial + (b * T + t) * n;
        const PetscReal *cl = rs[b].dist;
        int64_t          s  = 0;
        for (PetscInt i = 0; i < n; ++i) {
          tr[i] = mc__kmeans_dist2_capped(dim, ctx->U + i * dim, cc, cl[i]);
          s += mc__kmeans_qd(ctx, tr[i]);
        }
        pot[b * T + t] = s;
      }
    PetscCall(PetscMPIIntCast(nb * T, &cnt));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, pot, cnt, MPI_INT64_T, MPI_SUM, ctx->comm));
    for (PetscInt b = 0; b < nb; ++b) {
      PetscInt best = 0;
      for (PetscInt t = 1; t < T; ++t)
        if (pot[b * T + t] < pot[b * T + best]) best = t;
      PetscCall(PetscArraycpy(rs[b].centers + c * dim, cand + (b * T + best) * row + 1, dim));
      PetscCall(PetscArraycpy(rs[b].dist, trial + (b * T + best) * n, n));
    }
  }
  PetscCall(PetscFree4(first, mysum, allsum, pot));
  PetscCall(PetscFree3(cand, trial, c0));
  PetscCall(PetscLogEventEnd(MC_EVENTS[MC_EVENT_KMEANS_SEED], 0, 0, 0, 0));
  PetscFunctionReturn(0);
}
